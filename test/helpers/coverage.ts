/**
 * What a viewer would check in a redacted image: how much of a labelled
 * object lies inside the masks, and whether pixels far from every mask were
 * left as a plain re-encode leaves them.
 */
import sharp from 'sharp';
import { rleToBoxMask } from '../../src/common/rle';
import type { Box, Instance } from '../../src/common/types';

/** The union of the instances' masks, one byte per pixel. */
export function maskMap(instances: Instance[], width: number, height: number): Uint8Array {
  const map = new Uint8Array(width * height);
  for (const inst of instances) {
    const m = rleToBoxMask(inst.mask);
    if (!m) continue;
    for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (m.data[y * m.width + x]) map[(m.y + y) * width + m.x + x] = 1;
  }
  return map;
}

/** Share of the box inside the mask map. */
export function covered(box: Box, map: Uint8Array, width: number): number {
  const [x1, y1, x2, y2] = box.map(Math.round);
  let n = 0, all = 0;
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++, all++) n += map[y * width + x];
  return n / all;
}

/** Pixels far enough from every instance that redaction must not have touched them (grow, feather, JPEG blocks). */
export function untouchable(instances: Instance[], width: number, height: number): Uint8Array {
  const keep = new Uint8Array(width * height).fill(1);
  for (const { box } of instances) {
    const margin = Math.ceil(24 + 0.1 * Math.min(box[2] - box[0], box[3] - box[1]));
    for (let y = Math.max(0, box[1] - margin); y < Math.min(height, box[3] + margin); y++) {
      for (let x = Math.max(0, box[0] - margin); x < Math.min(width, box[2] + margin); x++) keep[y * width + x] = 0;
    }
  }
  return keep;
}

export async function rgb(image: Buffer): Promise<Buffer> {
  return sharp(image).removeAlpha().raw().toBuffer();
}

/** Mean absolute difference per channel over the pixels marked in `where`. */
export function meanDiff(a: Buffer, b: Buffer, where: Uint8Array): number {
  let sum = 0, n = 0;
  for (let p = 0; p < where.length; p++) {
    if (!where[p]) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a[p * 3 + c] - b[p * 3 + c]);
    n += 3;
  }
  return sum / n;
}
