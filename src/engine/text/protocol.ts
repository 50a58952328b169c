/** What the text models' host side loads and answers (see host/protocol.ts for the envelope). */
import type { Instance } from '../../common/types';
import type { PromptSpec } from '../backend';
import type { Region } from '../region';
import type { TextReading } from './ctc';
import type { DbParams } from './db-postprocess';
import type { RotatedRect } from './geometry';
import type { Turn } from './rec-crop';

export interface TextLoadSpec {
  detector: string;
  recognizer: string;
  /** PaddleOCR keys file: one character per line. */
  dictionary: string;
  executionProviders: string[];
  threads?: number;
}

export interface TextModelInfo {
  /** Line height the recogniser reads (48 for PP-OCRv4). */
  recognizerHeight: number;
  /** Characters the recogniser knows, blank included. */
  classes: number;
  executionProviders: string[];
}

/** One detector pass: a region of the image resized to sides that are multiples of 32. */
export interface TextPass {
  region: Region;
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface TextDetectJob {
  /** Size of the whole upright image. */
  width: number;
  height: number;
  passes: TextPass[];
  /** Each prompt labels the same lines, filtered by its own threshold (minimum mean probability). */
  prompts: PromptSpec[];
  params: DbParams;
}

export interface TextDetectTimings {
  preprocessMs: number;
  detectMs: number;
  postprocessMs: number;
  passes: number;
}

export interface TextDetectReply {
  instances: Instance[];
  timings: TextDetectTimings;
}

export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

export interface ReadCrop {
  rect: RotatedRect;
  /** Directions to try, in order; the first reading at least `sureAt` confident ends the search. */
  turns: Turn[];
}

export interface TextReadJob {
  image: RgbImage;
  crops: ReadCrop[];
  /** Confidence that makes further directions pointless (default 0.9). */
  sureAt?: number;
}

export interface TurnedReading extends TextReading {
  /** The direction that read best. */
  turn: Turn;
}

export interface TextReadReply {
  readings: TurnedReading[];
  ms: number;
}

/** The text backend's operations in the inference host. */
export interface TextOps {
  detect: { payload: TextDetectJob; value: TextDetectReply };
  read: { payload: TextReadJob; value: TextReadReply };
  [op: string]: { payload: unknown; value: unknown };
}
