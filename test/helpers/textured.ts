import type { RawFrame } from '../../src/common/types';
import type { Rect } from './images';

/**
 * A fine checkerboard background with flat rectangles on it: blur visibly
 * changes the checkerboard, and an untouched pixel is byte-identical.
 */
export function textured(width: number, height: number, rects: Array<Rect & { pattern?: [number, number, number] }>): RawFrame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = (x >> 1) % 2 === (y >> 1) % 2 ? 40 : 215;
      data.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) {
        // A shape with a pattern alternates its two colours pixel by pixel, so
        // redaction must visibly flatten it (a flat shape would look unchanged).
        const rgb = r.pattern && (x + y) % 2 ? r.pattern : r.rgb;
        data.set(rgb, (y * width + x) * 3);
      }
    }
  }
  return { data, width, height, channels: 3 };
}

/** Mean absolute difference between horizontal neighbours inside `rect`: fine detail left. */
export function roughness(rgb: Buffer | Uint8Array, width: number, rect: { x: number; y: number; width: number; height: number }): number {
  let sum = 0, n = 0;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width - 1; x++) {
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) sum += Math.abs(rgb[o + c] - rgb[o + 3 + c]);
      n++;
    }
  }
  return sum / n;
}

/** Share of pixels in `rect` that differ between two RGB frames of one size. */
export function changedShare(a: Buffer | Uint8Array, b: Buffer | Uint8Array, width: number, rect: { x: number; y: number; width: number; height: number }): number {
  let changed = 0;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      const o = (y * width + x) * 3;
      if (a[o] !== b[o] || a[o + 1] !== b[o + 1] || a[o + 2] !== b[o + 2]) changed++;
    }
  }
  return changed / (rect.width * rect.height);
}
