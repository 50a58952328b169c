export { Sam3Engine, DEFAULT_THRESHOLD } from './sam3-engine';
export type { EngineOptions, SegmentOptions, SegmentResult, SegmentTimings } from './sam3-engine';
export { parsePrompts, readPrompts, isTextPrompt, TEXT_PROMPTS } from './prompts';
export type { Prompt, PromptEntry, ConceptBackendName } from './prompts';
export { RedactionEngine } from './redaction-engine';
export type {
  RedactionEngineOptions,
  RedactionSegmentOptions,
  RedactionSegmentResult,
  RedactionTimings,
  EngineCapabilities,
  LoadedSam3,
  LoadedText,
} from './redaction-engine';
export { routePrompts } from './routing';
export type { TextBackendChoice, RoutedPrompt } from './routing';
export { ModelUnavailableError } from './model-unavailable';
export { ModelFolderError, resolveModelFiles, MODEL_HELP } from './model-folder';
export type { ModelFiles } from './model-folder';
export { InferenceHostError } from './inference-host';
export { ImageInputError, DEFAULT_MAX_PIXELS } from './image-input';
export type { ModelInfo } from './host-protocol';
export * from './text';
