/**
 * COCO run-length encoding. Runs are taken in column-major order (down each
 * column, then the next column) and start with a run of zeros, exactly as
 * pycocotools does, so masks written here open in any COCO tool.
 */
import type { Box, BoxMask, Rle } from './types';
import { CodedError } from './coded-error';

/** Pack run lengths into the compressed string form (pycocotools rleToString). */
export function encodeCounts(counts: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

/** Unpack the compressed string form (pycocotools rleFrString). */
export function decodeCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new CodedError('MASK_INVALID', 'RLE counts string ends in the middle of a number');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new CodedError('MASK_INVALID', `RLE counts string has an invalid character at ${p}`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** Encode a mask held inside its box into a full-image RLE without building the full image. */
export function boxMaskToRle(m: BoxMask, imageWidth: number, imageHeight: number): Rle {
  const counts: number[] = [];
  let current = 0; // value of the run being counted; RLE starts with zeros
  let run = 0;
  const push = (value: number, length: number): void => {
    if (length <= 0) return;
    if (value === current) {
      run += length;
    } else {
      counts.push(run);
      current = value;
      run = length;
    }
  };
  const x0 = Math.max(0, m.x);
  const x1 = Math.min(imageWidth, m.x + m.width);
  const y0 = Math.max(0, m.y);
  const y1 = Math.min(imageHeight, m.y + m.height);
  if (x1 <= x0 || y1 <= y0) {
    return { size: [imageHeight, imageWidth], counts: encodeCounts([imageWidth * imageHeight]) };
  }
  push(0, x0 * imageHeight);
  for (let x = x0; x < x1; x++) {
    push(0, y0);
    const col = x - m.x;
    // Runs down the column, pushed whole: a carried cover is a solid box of a few hundred thousand pixels.
    for (let y = y0; y < y1; ) {
      const value = m.data[(y - m.y) * m.width + col] ? 1 : 0;
      let end = y + 1;
      while (end < y1 && (m.data[(end - m.y) * m.width + col] ? 1 : 0) === value) end++;
      push(value, end - y);
      y = end;
    }
    push(0, imageHeight - y1);
  }
  push(0, (imageWidth - x1) * imageHeight);
  counts.push(run);
  return { size: [imageHeight, imageWidth], counts: encodeCounts(counts) };
}

/**
 * The RLE of a solid box [x0, y0, x1, y1] (whole pixels, inside the image),
 * written from its corners: a carried video cover or a frame hidden whole
 * needs no mask of ones first (a 1080p frame's would be 2 MB).
 */
export function boxRle(box: Box, imageWidth: number, imageHeight: number): Rle {
  const [x0, y0, x1, y1] = box;
  const size: [number, number] = [imageHeight, imageWidth];
  if (x1 <= x0 || y1 <= y0) return { size, counts: encodeCounts([imageWidth * imageHeight]) };
  const counts = [x0 * imageHeight + y0];
  const gap = imageHeight - (y1 - y0);
  // A box of full height is one run, as pycocotools writes it (no runs of length 0).
  if (gap === 0) counts.push((x1 - x0) * imageHeight);
  else for (let x = x0; x < x1; x++) counts.push(...(x < x1 - 1 ? [y1 - y0, gap] : [y1 - y0]));
  const after = imageHeight - y1 + (imageWidth - x1) * imageHeight;
  if (after > 0) counts.push(after);
  return { size, counts: encodeCounts(counts) };
}

function checkRle(rle: Rle): [number, number, number[]] {
  if (!rle || !Array.isArray(rle.size) || rle.size.length !== 2 || typeof rle.counts !== 'string') {
    throw new CodedError('MASK_INVALID', 'mask must be COCO RLE: { size: [height, width], counts: string }');
  }
  const [h, w] = rle.size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new CodedError('MASK_INVALID', `mask size must be two positive integers, got [${String(h)}, ${String(w)}]`);
  }
  const counts = decodeCounts(rle.counts);
  let total = 0;
  for (const c of counts) {
    if (c < 0) throw new CodedError('MASK_INVALID', 'mask RLE has a negative run length');
    total += c;
  }
  if (total !== h * w) throw new CodedError('MASK_INVALID', `mask RLE covers ${total} pixels but its size says ${h}x${w} = ${h * w}`);
  return [h, w, counts];
}

/** Decode an RLE into a mask held inside its bounding box; null when empty. */
export function rleToBoxMask(rle: Rle): BoxMask | null {
  const [h, , counts] = checkRle(rle);
  let minX = Infinity, minY = Infinity, maxX = -1, maxY = -1;
  let pos = 0;
  for (let i = 0; i < counts.length; pos += counts[i], i++) {
    if (i % 2 === 0 || counts[i] === 0) continue;
    const start = pos, end = pos + counts[i] - 1;
    const xs = Math.floor(start / h), xe = Math.floor(end / h);
    minX = Math.min(minX, xs);
    maxX = Math.max(maxX, xe);
    if (xs !== xe) {
      minY = 0;
      maxY = h - 1;
    } else {
      minY = Math.min(minY, start % h);
      maxY = Math.max(maxY, end % h);
    }
  }
  if (maxX < 0) return null;
  const width = maxX - minX + 1, height = maxY - minY + 1;
  const data = new Uint8Array(width * height);
  pos = 0;
  for (let i = 0; i < counts.length; pos += counts[i], i++) {
    if (i % 2 === 0) continue;
    // A run goes down a column and on at the top of the next: filled a column piece at a time.
    for (let p = pos, end = pos + counts[i]; p < end; ) {
      const x = Math.floor(p / h), y = p % h;
      const n = Math.min(end - p, h - y);
      for (let k = 0, at = (y - minY) * width + (x - minX); k < n; k++, at += width) data[at] = 1;
      p += n;
    }
  }
  return { x: minX, y: minY, width, height, data };
}

/** Number of pixels set in an RLE mask. */
export function rleArea(rle: Rle): number {
  const [, , counts] = checkRle(rle);
  let area = 0;
  for (let i = 1; i < counts.length; i += 2) area += counts[i];
  return area;
}
