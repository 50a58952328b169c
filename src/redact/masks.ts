/**
 * Turns one instance into a coverage map held inside its own rectangle:
 * the mask grown by a round margin (fully redacted) plus a feather that fades
 * outward only. Work and memory scale with the instance, not the frame.
 */
import type { Box, BoxMask } from '../common/types';
import { FAR, squaredDistance } from './distance';

/** Redaction strength per pixel inside a rectangle of the image. */
export interface Cover {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Row-major, 255 = fully redacted, 0 = untouched. */
  alpha: Uint8Array;
  /** Pixels at 255. */
  full: number;
  /** Shorter side of the fully redacted part's bounding box: what effect strength scales with. */
  shortSide: number;
}

/** Growth radius for one instance: max(minimum, percent of its shorter box side) + extra. */
export function growthFor(box: Box, percent: number, minimum: number, extra: number): number {
  const shorter = Math.max(0, Math.min(box[2] - box[0], box[3] - box[1]));
  return Math.max(minimum, (percent / 100) * shorter) + extra;
}

/** The box as a solid mask; fractional edges are rounded outward so nothing of the box is left out. */
export function boxToMask(box: Box, imageWidth: number, imageHeight: number): BoxMask | null {
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(imageWidth, Math.ceil(box[2]));
  const y1 = Math.min(imageHeight, Math.ceil(box[3]));
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0, data: new Uint8Array((x1 - x0) * (y1 - y0)).fill(1) };
}

/**
 * Grow `mask` by `grow` pixels (Euclidean) and feather `feather` pixels
 * beyond that. Inside the grown mask alpha is 255; it then falls linearly to
 * 0 at `feather` pixels further out, so the feather never thins the cover.
 */
export function buildCover(mask: BoxMask, grow: number, feather: number, imageWidth: number, imageHeight: number): Cover {
  const pad = Math.ceil(grow + feather);
  const x = Math.max(0, mask.x - pad);
  const y = Math.max(0, mask.y - pad);
  const width = Math.min(imageWidth, mask.x + mask.width + pad) - x;
  const height = Math.min(imageHeight, mask.y + mask.height + pad) - y;

  const grid = new Float32Array(width * height).fill(FAR);
  const ox = mask.x - x;
  const oy = mask.y - y;
  for (let my = 0; my < mask.height; my++) {
    const src = my * mask.width;
    const dst = (my + oy) * width + ox;
    for (let mx = 0; mx < mask.width; mx++) if (mask.data[src + mx]) grid[dst + mx] = 0;
  }
  const g2 = grow * grow;
  const reach2 = (grow + feather) * (grow + feather);
  // Beyond grow + feather the cover is 0: no exact distance is needed there
  // (squared distances are whole numbers, so reach2 + 1 keeps reach2 exact).
  squaredDistance(grid, width, height, reach2 + 1);

  const alpha = new Uint8Array(width * height);
  let full = 0;
  let minX = width, minY = height, maxX = -1, maxY = -1;
  for (let py = 0, i = 0; py < height; py++) {
    for (let px = 0; px < width; px++, i++) {
      const d2 = grid[i];
      if (d2 <= g2) {
        alpha[i] = 255;
        full++;
        if (px < minX) minX = px;
        if (px > maxX) maxX = px;
        if (py < minY) minY = py;
        maxY = py;
      } else if (d2 < reach2) {
        // Rounded down so that the outermost feather pixels stay untouched
        // rather than being nudged by a rounding-up to 1.
        alpha[i] = Math.floor(255 * (1 - (Math.sqrt(d2) - grow) / feather));
      }
    }
  }
  const shortSide = maxX < 0 ? 0 : Math.min(maxX - minX + 1, maxY - minY + 1);
  return { x, y, width, height, alpha, full, shortSide };
}

/** Everything, fully redacted: the wholeImage fallback. */
export function wholeCover(width: number, height: number): Cover {
  return { x: 0, y: 0, width, height, alpha: new Uint8Array(width * height).fill(255), full: width * height, shortSide: Math.min(width, height) };
}

/** Mark this cover's fully redacted pixels in a frame-sized map; returns how many were new. */
export function markCovered(covered: Uint8Array, imageWidth: number, c: Cover): number {
  let added = 0;
  for (let py = 0; py < c.height; py++) {
    const row = (c.y + py) * imageWidth + c.x;
    for (let px = 0, i = py * c.width; px < c.width; px++, i++) {
      if (c.alpha[i] === 255 && covered[row + px] === 0) {
        covered[row + px] = 1;
        added++;
      }
    }
  }
  return added;
}
