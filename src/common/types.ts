/**
 * Shapes that cross layers (engine -> redact -> video -> nodes). Everything
 * here is plain data that survives JSON, so detections can travel over MQTT or
 * into an audit file.
 */

/** COCO run-length encoding in the compressed string form pycocotools reads. */
export interface Rle {
  /** [height, width] of the image the mask belongs to. */
  size: [number, number];
  counts: string;
}

/** Pixel box [x1, y1, x2, y2], x2/y2 exclusive, in image pixels. */
export type Box = [number, number, number, number];

export interface Instance {
  label: string;
  score: number;
  box: Box;
  mask: Rle;
  /** Set on frames between two detections whose cover was carried over. */
  carried?: boolean;
  /** The backend that found it ('sam3', 'ocr', ...). */
  backend?: string;
}

/** An undecoded 8-bit RGB frame, as video-split emits it. */
export interface RawFrame {
  data: Buffer | Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** What the engine and the redact layer accept as an image. */
export type ImageInput = Buffer | string | RawFrame;

/** A binary mask held only inside its bounding box (row-major, 0 or 1). */
export interface BoxMask {
  x: number;
  y: number;
  width: number;
  height: number;
  data: Uint8Array;
}
