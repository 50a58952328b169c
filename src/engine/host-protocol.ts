/** Messages between the engine (Node-RED's process) and its inference host process. */
import type { Instance } from '../common/types';
import type { Region } from './mask-upsample';
import type { GraphKey } from './model-folder';
import type { TextDetectJob, TextDetectReply, TextLoadSpec, TextModelInfo, TextReadJob, TextReadReply } from './text/text-protocol';

export interface LoadSpec {
  graphs: Record<GraphKey, string>;
  tokenizer: string;
  tokenizerConfig?: string;
  config?: string;
  executionProviders: string[];
  threads?: number;
  textCacheSize: number;
}

export interface ModelInfo {
  /** S: the square size the vision encoder takes. */
  imageSize: number;
  contextLength: number;
  floatTypes: Record<GraphKey, 'float32' | 'float16'>;
  executionProviders: string[];
}

export interface PromptSpec {
  /** Text given to the tokenizer. */
  text: string;
  /** Label the instances carry (the prompt as the user wrote it, trimmed). */
  label: string;
  threshold: number;
}

export interface TileJob {
  region: Region;
  /** S x S x 3 RGB, the region stretched to the model's input size. */
  rgb: Uint8Array;
}

export interface SegmentJob {
  width: number;
  height: number;
  tiles: TileJob[];
  prompts: PromptSpec[];
}

export interface HostTimings {
  preprocessMs: number;
  visionMs: number;
  textMs: number;
  decoderMs: number;
  postprocessMs: number;
  visionPasses: number;
  textEncodes: number;
  decoderRuns: number;
}

export interface SegmentReply {
  instances: Instance[];
  timings: HostTimings;
}

/** Every request the host serves, each with the value its reply carries. */
export interface HostCalls {
  load: { payload: { spec: LoadSpec }; value: ModelInfo };
  segment: { payload: { job: SegmentJob }; value: SegmentReply };
  'load-text': { payload: { spec: TextLoadSpec }; value: TextModelInfo };
  'detect-text': { payload: { job: TextDetectJob }; value: TextDetectReply };
  'read-text': { payload: { job: TextReadJob }; value: TextReadReply };
}

export type HostKind = keyof HostCalls;

export type HostRequest = { [K in HostKind]: { id: number; kind: K } & HostCalls[K]['payload'] }[HostKind];

export type HostValue = HostCalls[HostKind]['value'];

export type HostReply =
  | { id: number; ok: true; value: HostValue }
  | { id: number; ok: false; error: { name: string; message: string } };
