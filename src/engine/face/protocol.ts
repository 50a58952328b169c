/** What the face detector's host side loads and answers (see host/protocol.ts for the envelope). */
import type { Box, Instance } from '../../common/types';
import type { PromptSpec } from '../backend';
import type { Region } from '../region';

export interface FaceLoadSpec {
  model: string;
  executionProviders: string[];
  threads?: number;
}

export interface FaceModelInfo {
  /** The model's input size: each pass is a region of the image stretched to it. */
  inputWidth: number;
  inputHeight: number;
  executionProviders: string[];
}

/** The image shrunk by `level` (1: as it is): tiles on its pixel grid are cut from it in the host. */
export interface FaceLevel {
  level: number;
  width: number;
  rgb: Uint8Array;
}

/** One detector pass: a region of the image (the whole of it, or a tile) at the model's input size. */
export interface FacePass {
  region: Region;
  /** The pass's pixels at the model's input size; or, without them, */
  rgb?: Uint8Array;
  /** where in one of the job's levels they start (a tile is a plain crop of its level: one image crosses to the host, not every tile). */
  from?: { level: number; x: number; y: number };
  /** Score a face needs in this pass: tiles ask more, to keep hands and bags out. */
  threshold: number;
  /**
   * For a tile: its edges inside the image (left, top, right, bottom). A face
   * box that reaches one is a face the tile cut; it is whole in a neighbour
   * or a coarser level, so it is left to them.
   */
  inner?: [boolean, boolean, boolean, boolean];
}

export interface FaceJob {
  width: number;
  height: number;
  passes: FacePass[];
  prompts: PromptSpec[];
  /** Each box grown by this share of its size before its ellipse is drawn (0.3: hairline, ears and chin). */
  grow: number;
  /** Faces that only tiles found are held back in `unconfirmed`, for a second look (the confirm op), not made instances. */
  confirmTiles?: boolean;
  /** The levels that passes with `from` are cut from. */
  levels?: FaceLevel[];
  /**
   * One video's tiled pass: the key under which the host remembers each
   * tile's pixels and faces between frames (tile-memory.ts), so that tiles
   * whose pixels have not changed keep their faces instead of running again.
   */
  tileMemory?: string;
}

/** A face in image pixels, before its ellipse is drawn. */
export interface FaceBox {
  box: Box;
  score: number;
}

/** The second look at faces only tiles found: passes framed around them. */
export interface ConfirmJob {
  width: number;
  height: number;
  /** Regions around the faces, each at the model's input size, with the score a face needs in them. */
  passes: FacePass[];
  faces: FaceBox[];
  prompts: PromptSpec[];
  grow: number;
  /** The video's tile memory (FaceJob.tileMemory): the verdicts are remembered there for the same boxes on later frames. */
  tileMemory?: string;
}

export interface FaceTimings {
  preprocessMs: number;
  faceMs: number;
  facePasses: number;
  /** Tiles that kept the faces they found on an earlier frame (their pixels had not changed), not run again. */
  faceTilesKept?: number;
  postprocessMs: number;
}

export interface FaceReply {
  instances: Instance[];
  /** With confirmTiles: faces only tiles found, waiting for their second look. */
  unconfirmed?: FaceBox[];
  timings: FaceTimings;
}

export interface FaceOps {
  detect: { payload: FaceJob; value: FaceReply };
  confirm: { payload: ConfirmJob; value: FaceReply };
  [op: string]: { payload: unknown; value: unknown };
}
