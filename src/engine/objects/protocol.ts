/** What the person and vehicle detector's host side loads and answers (see host/protocol.ts for the envelope). */
import type { Instance } from '../../common/types';
import type { Region } from '../region';
import type { DetectorLayout } from './decode';

export interface ObjectLoadSpec {
  model: string;
  executionProviders: string[];
  threads?: number;
}

export interface ObjectModelInfo extends DetectorLayout {
  executionProviders: string[];
}

/** One detector pass: a region of the image (the whole of it, or a tile) stretched to the model's input. */
export interface ObjectPass {
  region: Region;
  rgb: Uint8Array;
  /** For a tile: its edges inside the image (left, top, right, bottom); see decodePass. */
  inner?: [boolean, boolean, boolean, boolean];
}

export interface ObjectPrompt {
  label: string;
  threshold: number;
  /** The COCO classes it stands for. */
  classes: number[];
}

export interface ObjectJob {
  width: number;
  height: number;
  passes: ObjectPass[];
  prompts: ObjectPrompt[];
  /** Each box grown by this share of its size on every side. */
  grow: number;
}

export interface ObjectTimings {
  preprocessMs: number;
  objectMs: number;
  objectPasses: number;
  postprocessMs: number;
}

export interface ObjectReply {
  instances: Instance[];
  timings: ObjectTimings;
}

export interface ObjectOps {
  detect: { payload: ObjectJob; value: ObjectReply };
  [op: string]: { payload: unknown; value: unknown };
}
