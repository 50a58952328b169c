/**
 * Scene-cut detection between consecutive frames: a new shot must get its own
 * detection instead of being covered by the previous shot's masks.
 */
import type { RawFrame } from '../common/types';

const GRID_W = 16;
const GRID_H = 9;

/** Mean luma of a 16 x 9 grid, from a few samples per cell: cheap enough for every frame. */
export function frameSignature(frame: RawFrame): Float32Array {
  const sig = new Float32Array(GRID_W * GRID_H);
  const { data, width, height } = frame;
  for (let gy = 0; gy < GRID_H; gy++) {
    for (let gx = 0; gx < GRID_W; gx++) {
      let sum = 0;
      for (let sy = 0; sy < 3; sy++) {
        for (let sx = 0; sx < 3; sx++) {
          const x = Math.min(width - 1, Math.floor(((gx + (sx + 0.5) / 3) * width) / GRID_W));
          const y = Math.min(height - 1, Math.floor(((gy + (sy + 0.5) / 3) * height) / GRID_H));
          const o = (y * width + x) * 3;
          sum += 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2];
        }
      }
      sig[gy * GRID_W + gx] = sum / 9;
    }
  }
  return sig;
}

/**
 * True when two signatures differ by more than `threshold` grey levels on
 * average (0..255). 30 separates cuts from pans and lighting drift in
 * ordinary footage; lower it to force more detections.
 */
export function isSceneCut(a: Float32Array, b: Float32Array, threshold = 30): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
  return diff / a.length > threshold;
}
