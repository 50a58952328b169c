/**
 * Turns one instance into a coverage map held inside its own rectangle:
 * the mask grown by a round margin (fully redacted) plus a feather that fades
 * outward only. Work and memory scale with the instance, not the frame.
 */
import type { Box, BoxMask } from '../common/types';
import { distanceGrid, squaredDistance } from './distance';

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
  // Carried video covers and box covers are solid rectangles: their distances are known without a transform.
  return isSolid(mask) ? rectCover(mask, grow, feather, imageWidth, imageHeight) : distanceCover(mask, grow, feather, imageWidth, imageHeight);
}

function isSolid(mask: BoxMask): boolean {
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] === 0) return false;
  return true;
}

interface CoverFrame {
  x: number;
  y: number;
  width: number;
  height: number;
  /** The mask's place inside the cover rectangle. */
  ox: number;
  oy: number;
}

function coverFrame(mask: BoxMask, grow: number, feather: number, imageWidth: number, imageHeight: number): CoverFrame {
  const pad = Math.ceil(grow + feather);
  const x = Math.max(0, mask.x - pad);
  const y = Math.max(0, mask.y - pad);
  const width = Math.min(imageWidth, mask.x + mask.width + pad) - x;
  const height = Math.min(imageHeight, mask.y + mask.height + pad) - y;
  return { x, y, width, height, ox: mask.x - x, oy: mask.y - y };
}

/** Alpha from squared distances to the mask: what both ways of measuring them share. */
class AlphaRamp {
  readonly g2: number;
  readonly reach2: number;
  constructor(readonly grow: number, readonly feather: number) {
    this.g2 = grow * grow;
    this.reach2 = (grow + feather) * (grow + feather);
  }

  /** 255 within grow, 0 from grow + feather on, linear between. */
  alpha(d2: number): number {
    if (d2 <= this.g2) return 255;
    if (d2 >= this.reach2) return 0;
    // Rounded down so that the outermost feather pixels stay untouched
    // rather than being nudged by a rounding-up to 1.
    return Math.floor(255 * (1 - (Math.sqrt(d2) - this.grow) / this.feather));
  }
}

/** Squared distance along one axis from each position of [0, length) to the span [from, from + span). */
function axisDistances(length: number, from: number, span: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const d = i < from ? from - i : i >= from + span ? i - (from + span - 1) : 0;
    out[i] = d * d;
  }
  return out;
}

/** The cover of an alpha map laid over frame f: how much of it is full, and the full part's shorter side. */
function coverOf(f: CoverFrame, alpha: Uint8Array): Cover {
  let full = 0;
  let minX = f.width, minY = f.height, maxX = -1, maxY = -1;
  for (let py = 0, i = 0; py < f.height; py++) {
    for (let px = 0; px < f.width; px++, i++) {
      if (alpha[i] !== 255) continue;
      full++;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      maxY = py;
    }
  }
  const shortSide = maxX < 0 ? 0 : Math.min(maxX - minX + 1, maxY - minY + 1);
  return { x: f.x, y: f.y, width: f.width, height: f.height, alpha, full, shortSide };
}

/**
 * A solid rectangle's cover, exactly as the distance transform would give it:
 * the nearest mask pixel of a rectangle is the pixel clamped into it.
 */
export function rectCover(mask: BoxMask, grow: number, feather: number, imageWidth: number, imageHeight: number): Cover {
  const f = coverFrame(mask, grow, feather, imageWidth, imageHeight);
  const ramp = new AlphaRamp(grow, feather);
  const dx2 = axisDistances(f.width, f.ox, mask.width);
  const dy2 = axisDistances(f.height, f.oy, mask.height);
  const alpha = new Uint8Array(f.width * f.height);
  // Every row level with the rectangle is the same row: computed once, copied.
  const level = Uint8Array.from(dx2, (d) => ramp.alpha(d));
  for (let py = 0; py < f.height; py++) {
    if (dy2[py] === 0) {
      alpha.set(level, py * f.width);
      continue;
    }
    // Alpha only falls with distance: a row whose nearest pixel is 0 is 0 throughout.
    if (ramp.alpha(dy2[py]) === 0) continue;
    for (let px = 0, i = py * f.width; px < f.width; px++, i++) alpha[i] = ramp.alpha(dx2[px] + dy2[py]);
  }
  return coverOf(f, alpha);
}

/** Any mask's cover, through the exact distance transform. */
export function distanceCover(mask: BoxMask, grow: number, feather: number, imageWidth: number, imageHeight: number): Cover {
  const f = coverFrame(mask, grow, feather, imageWidth, imageHeight);
  const { width, height, ox, oy } = f;
  const grid = distanceGrid(width * height);
  for (let my = 0; my < mask.height; my++) {
    const src = my * mask.width;
    const dst = (my + oy) * width + ox;
    for (let mx = 0; mx < mask.width; mx++) if (mask.data[src + mx]) grid[dst + mx] = 0;
  }
  const ramp = new AlphaRamp(grow, feather);
  // Beyond grow + feather the cover is 0: no exact distance is needed there
  // (squared distances are whole numbers, so reach2 + 1 keeps reach2 exact).
  squaredDistance(grid, width, height, ramp.reach2 + 1);
  const alpha = new Uint8Array(width * height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = ramp.alpha(grid[i]);
  return coverOf(f, alpha);
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
