export { Sam3Engine, parsePrompts, DEFAULT_THRESHOLD } from './sam3-engine';
export type { EngineOptions, Prompt, SegmentOptions, SegmentResult, SegmentTimings } from './sam3-engine';
export { ModelFolderError, resolveModelFiles, MODEL_HELP } from './model-folder';
export type { ModelFiles } from './model-folder';
export { InferenceHostError } from './inference-host';
export { ImageInputError, DEFAULT_MAX_PIXELS } from './image-input';
export type { ModelInfo } from './host-protocol';
