/**
 * Turns one query's low-resolution mask logits into a full-resolution binary
 * mask, computed only around the instance: cost grows with the instance, not
 * with the frame.
 */
import type { BoxMask } from '../../common/types';
import type { Region } from '../region';

/**
 * Bilinear upsampling (half-pixel centres, as torch's interpolate with
 * align_corners=False) of `logits` (mh x mw, one query) mapped onto `region`,
 * evaluated for the pixels of `window` only, thresholded at logit > 0.
 */
export function upsampleMask(
  logits: Float32Array,
  offset: number,
  mh: number,
  mw: number,
  region: Region,
  window: Region,
): BoxMask {
  const { x: wx, y: wy, width, height } = window;
  const data = new Uint8Array(width * height);
  const sx = mw / region.width;
  const sy = mh / region.height;
  // Column lookups are shared by every row, so compute them once.
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const fxs = new Float32Array(width);
  for (let i = 0; i < width; i++) {
    let fx = (wx + i - region.x + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    if (fx > mw - 1) fx = mw - 1;
    const x0 = Math.floor(fx);
    x0s[i] = x0;
    x1s[i] = Math.min(x0 + 1, mw - 1);
    fxs[i] = fx - x0;
  }
  for (let j = 0; j < height; j++) {
    let fy = (wy + j - region.y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    if (fy > mh - 1) fy = mh - 1;
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, mh - 1);
    const wy1 = fy - y0;
    const row0 = offset + y0 * mw;
    const row1 = offset + y1 * mw;
    const out = j * width;
    for (let i = 0; i < width; i++) {
      const a = logits[row0 + x0s[i]];
      const b = logits[row0 + x1s[i]];
      const c = logits[row1 + x0s[i]];
      const d = logits[row1 + x1s[i]];
      const fx = fxs[i];
      const top = a + (b - a) * fx;
      const bottom = c + (d - c) * fx;
      if (top + (bottom - top) * wy1 > 0) data[out + i] = 1;
    }
  }
  return { x: wx, y: wy, width, height, data };
}

/** Shrinks a box mask to the bounds of its set pixels; null when it has none. */
export function tighten(m: BoxMask): BoxMask | null {
  let minX = m.width, minY = m.height, maxX = -1, maxY = -1;
  for (let y = 0; y < m.height; y++) {
    const row = y * m.width;
    for (let x = 0; x < m.width; x++) {
      if (m.data[row + x]) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  const width = maxX - minX + 1, height = maxY - minY + 1;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    data.set(m.data.subarray((y + minY) * m.width + minX, (y + minY) * m.width + minX + width), y * width);
  }
  return { x: m.x + minX, y: m.y + minY, width, height, data };
}

/** A mask that fills a whole rectangle. */
export function filledMask(r: Region): BoxMask {
  return { ...r, data: new Uint8Array(r.width * r.height).fill(1) };
}
