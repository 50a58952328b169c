/** The bundled text detector and recogniser (PP-OCRv4), and the verification pass. */
export { findBundledTextModels, checkTextModels, fingerprintTextModels, TEXT_MODELS_PACKAGE } from './bundled-models';
export type { TextModelFiles, TextModelsLookup } from './bundled-models';
export { DEFAULT_TEXT_THRESHOLD, DEFAULT_TEXT_MAX_SIDE, planTextPasses } from './backend';
export type { TextDetectOptions, PassPlan } from './backend';
export { DEFAULT_DB_PARAMS } from './db-postprocess';
export type { DbParams } from './db-postprocess';
export { StillLegibleError, assertIllegible, lineRect } from './verify';
export type { VerifyOptions, VerificationResult, LegibleLine, LineCheck } from './verify';
export { readingSimilarity, editDistance, normaliseReading } from './similarity';
export type { TextReading } from './ctc';
export type { TextModelInfo } from './protocol';
export { TextModelError } from './sessions';
