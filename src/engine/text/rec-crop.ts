/**
 * Cuts a text line out of an image for the recogniser: the line's rotated
 * rectangle, turned so it reads left to right, sampled straight to the
 * recogniser's height (PaddleOCR warps the quad, then resizes; one pass here).
 */
import type { RotatedRect } from './geometry';

/** Quarter turns applied to the rectangle's own direction before reading. */
export type Turn = 0 | 1 | 2 | 3;

export interface LineCrop {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** Longest crop, in recogniser widths of its height: longer lines are squeezed, not cut. */
const MAX_ASPECT = 40;

function sample(rgb: Uint8Array, w: number, h: number, x: number, y: number, out: number[]): void {
  // Replicated border, as the reference's warp does.
  const fx = Math.min(Math.max(x - 0.5, 0), w - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), h - 1);
  const x0 = Math.floor(fx), y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, w - 1), y1 = Math.min(y0 + 1, h - 1);
  const ax = fx - x0, ay = fy - y0;
  for (let c = 0; c < 3; c++) {
    const a = rgb[(y0 * w + x0) * 3 + c], b = rgb[(y0 * w + x1) * 3 + c];
    const d = rgb[(y1 * w + x0) * 3 + c], e = rgb[(y1 * w + x1) * 3 + c];
    out[c] += (a + (b - a) * ax) * (1 - ay) + (d + (e - d) * ax) * ay;
  }
}

export function cropLine(rgb: Uint8Array, w: number, h: number, rect: RotatedRect, turn: Turn, height: number): LineCrop {
  const phi = rect.angle + (turn * Math.PI) / 2;
  const ux = Math.cos(phi), uy = Math.sin(phi);
  // v is "down" for a reader facing along u.
  const vx = -uy, vy = ux;
  const along = turn % 2 === 0 ? rect.width : rect.height;
  const across = turn % 2 === 0 ? rect.height : rect.width;
  const width = Math.max(1, Math.min(Math.round((height * along) / Math.max(across, 1)), height * MAX_ASPECT));
  const ox = rect.cx - (ux * along) / 2 - (vx * across) / 2;
  const oy = rect.cy - (uy * along) / 2 - (vy * across) / 2;
  const su = along / width, sv = across / height;
  // Several samples per output pixel when shrinking, so large text is averaged, not aliased.
  const k = Math.max(1, Math.min(4, Math.ceil(Math.max(su, sv))));
  const out = new Uint8Array(width * height * 3);
  const acc = [0, 0, 0];
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let a = 0; a < k; a++) {
        const v = (j + (a + 0.5) / k) * sv;
        for (let b = 0; b < k; b++) {
          const u = (i + (b + 0.5) / k) * su;
          sample(rgb, w, h, ox + ux * u + vx * v, oy + uy * u + vy * v, acc);
        }
      }
      const o = (j * width + i) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(acc[c] / (k * k));
    }
  }
  return { rgb: out, width, height };
}
