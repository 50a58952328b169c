/** What SAM 3's host side loads and answers (see host/protocol.ts for the envelope). */
import type { Instance } from '../../common/types';
import type { PromptSpec } from '../backend';
import type { Region } from '../region';
import type { GraphKey, ModelLayout } from './model-folder';

export interface LoadSpec {
  layout: ModelLayout;
  graphs: Record<GraphKey, string>;
  tokenizer: string;
  tokenizerConfig?: string;
  config?: string;
  executionProviders: string[];
  threads?: number;
  textCacheSize: number;
}

export interface ModelInfo {
  layout: ModelLayout;
  /** Scores below this never come out of the model (samexporter's decoder filters at 0.5); prompts asking for less get this. */
  scoreFloor?: number;
  /** S: the square size the vision encoder takes. */
  imageSize: number;
  contextLength: number;
  floatTypes: Record<GraphKey, 'float32' | 'float16'>;
  executionProviders: string[];
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

/** SAM 3's operations in the inference host. */
export interface Sam3Ops {
  segment: { payload: SegmentJob; value: SegmentReply };
  [op: string]: { payload: unknown; value: unknown };
}
