/**
 * Copying a rectangle out of an interleaved RGB image without resampling
 * (a text line's surroundings for the recogniser), in code the inference
 * host can load too: it loads no image library, so this lives apart from
 * image-input.ts.
 */
import type { Region } from './region';

/** A rectangle of an RGB image, copied row by row: a tile that needs no resampling. */
export function cropRgb(rgb: Uint8Array, width: number, r: Region): Uint8Array {
  const out = new Uint8Array(r.width * r.height * 3);
  const row = r.width * 3;
  for (let y = 0; y < r.height; y++) {
    const from = ((r.y + y) * width + r.x) * 3;
    out.set(rgb.subarray(from, from + row), y * row);
  }
  return out;
}
