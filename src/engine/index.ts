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
  LabelBackend,
} from './redaction-engine';
export { routePrompts } from './routing';
export { registerBackend, registeredBackends } from './backends';
export { EngineSession } from './backend';
export type { Backend, BackendRun, LoadedBackend, Preparation, PromptSpec, RunContext, TilesOption } from './backend';
export type { HostSide, OpTable } from './host/protocol';
export type { HostLoad } from './host/inference-host';
export type { DecodedImage } from './image-input';
export type { Region } from './region';
export { toInstances, type RawInstance } from './instances';
export type { TextBackendChoice, RoutedPrompt, Sam3Joins, RouteContext } from './routing';
export { ModelUnavailableError } from './model-unavailable';
export { ModelFolderError, resolveModelFiles, fingerprintModel, MODEL_HELP, GRAPH_STEMS, variantsIn, preferredVariant, deviceOf } from './sam3/model-folder';
export { layoutOf, SAMEXPORTER_FILES, LAYOUTS_EXPECTED } from './sam3/model-folder';
export type { Device, ModelLayout } from './sam3/model-folder';
export type { ModelFiles, GraphKey } from './sam3/model-folder';
// The SAM 3 ONNX contract (docs/sam3-onnx-contract.md), for the model tools in src/models.
export { CONTRACT, SAMEXPORTER_CONTRACT, SAMEXPORTER_TEXT_TO_DECODER, checkValues, fixedDim } from './sam3/contract';
export type { ValueInfo } from './sam3/contract';
export { InferenceHostError } from './host/inference-host';
export { ImageInputError, DEFAULT_MAX_PIXELS } from './image-input';
export { DEFAULT_MAX_BYTES } from '../common/image-source';
export type { ModelInfo } from './sam3/protocol';
export * from './text';
export { faceBackend, planFacePasses, DEFAULT_MIN_FACE, DEFAULT_FACE_THRESHOLD, DEFAULT_FACE_TILE_THRESHOLD, FACE_GROW, BUNDLED_FACE_MODEL } from './face/backend';
export type { FaceDetectOptions, FaceLoadOptions } from './face/backend';
export { CONCEPTS, FACE_PROMPTS, OBJECT_PROMPTS, PLATE_PROMPTS, isFacePrompt, isObjectPrompt, isPlatePrompt } from '../common/concepts';
export { objectBackend, DEFAULT_OBJECT_THRESHOLD, OBJECT_GROW, BUNDLED_OBJECT_MODEL } from './objects/backend';
export type { ObjectDetectOptions, ObjectLoadOptions } from './objects/backend';
export { plateBackend, DEFAULT_PLATE_THRESHOLD } from './plates/backend';
export type { PlateDetectOptions } from './plates/backend';
