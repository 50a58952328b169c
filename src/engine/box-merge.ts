/**
 * The same object seen by several passes (the whole image and tiles) or
 * several anchors, kept once: any detector's boxes go through here.
 */
import { iou } from '../common/boxes';
import type { Box } from '../common/types';

export interface ScoredBox {
  box: Box;
  score: number;
}

/**
 * One box per object: the best-scoring box of each group of overlapping
 * ones (IoU >= `overlap`), widened to the union of those that overlap it
 * strongly (IoU >= `same`: the same object): cover more, never less.
 */
export function mergeOverlapping<T extends ScoredBox>(all: T[], overlap = 0.3, same = 0.5): T[] {
  const sorted = [...all].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  const taken = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    if (taken[i]) continue;
    const best = sorted[i];
    const box: Box = [...best.box];
    for (let j = i + 1; j < sorted.length; j++) {
      if (taken[j]) continue;
      const o = iou(best.box, sorted[j].box);
      if (o < overlap) continue;
      taken[j] = 1;
      if (o >= same) {
        const b = sorted[j].box;
        box[0] = Math.min(box[0], b[0]);
        box[1] = Math.min(box[1], b[1]);
        box[2] = Math.max(box[2], b[2]);
        box[3] = Math.max(box[3], b[3]);
      }
    }
    kept.push({ ...best, box });
  }
  return kept;
}
