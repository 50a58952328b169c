/** The package's programmatic API: usable without Node-RED. */
export * from './engine';
export * from './common/types';
export { boxMaskToRle, rleToBoxMask, rleArea, encodeCounts, decodeCounts } from './common/rle';
export { redactImage, validateInstances } from './redact';
export type { RedactMode, RedactOptions, RedactResult, RedactSummary, LabelSummary } from './redact';
