/**
 * Boxes from a NanoDet-style head: for each cell of three levels (strides 8,
 * 16 and 32), a score per class and, for each side (left, top, right,
 * bottom), a distribution over distances 0..bins-1 in units of the stride
 * whose expectation is that side's distance from the cell's centre
 * (Generalized Focal Loss).
 */
import type { Box } from '../../common/types';
import type { Region } from '../region';

export interface DetectorLayout {
  inputWidth: number;
  inputHeight: number;
  classes: number;
  /** Distance bins per side (11 for the bundled model). */
  bins: number;
  strides: readonly number[];
}

export interface ObjectCandidate {
  box: Box;
  score: number;
  cls: number;
}

/** Cells of every level, in the order the head emits them. */
export function cellCount(layout: DetectorLayout): number {
  return layout.strides.reduce((n, s) => n + Math.ceil(layout.inputWidth / s) * Math.ceil(layout.inputHeight / s), 0);
}

/** Within this share of a pass's side of an inner edge, a box counts as cut by it. */
const EDGE = 0.01;

/**
 * The candidates of one pass whose class is wanted and whose score reaches
 * that class's threshold, in image pixels. `inner`: the pass's edges that
 * lie inside the image; a box reaching one belongs to an object the tile
 * cut, which a neighbour or the whole image sees whole.
 */
export function decodePass(
  scores: Float32Array,
  distances: Float32Array,
  layout: DetectorLayout,
  region: Region,
  thresholds: ReadonlyMap<number, number>,
  inner?: readonly boolean[],
): ObjectCandidate[] {
  const { inputWidth: iw, inputHeight: ih, classes, bins } = layout;
  const sx = region.width / iw;
  const sy = region.height / ih;
  const probs = new Float64Array(bins);
  const side = new Float64Array(4);
  const out: ObjectCandidate[] = [];
  let cell = 0;
  for (const stride of layout.strides) {
    const cols = Math.ceil(iw / stride);
    const rows = Math.ceil(ih / stride);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, cell++) {
        let found = false;
        for (const [cls, t] of thresholds) if (scores[cell * classes + cls] >= t) found = true;
        if (!found) continue;
        for (let k = 0; k < 4; k++) {
          const base = (cell * 4 + k) * bins;
          let max = -Infinity;
          for (let b = 0; b < bins; b++) max = Math.max(max, distances[base + b]);
          let sum = 0;
          for (let b = 0; b < bins; b++) sum += probs[b] = Math.exp(distances[base + b] - max);
          let e = 0;
          for (let b = 0; b < bins; b++) e += (probs[b] / sum) * b;
          side[k] = e * stride;
        }
        const cx = (c + 0.5) * stride;
        const cy = (r + 0.5) * stride;
        const x1 = Math.max(0, cx - side[0]);
        const y1 = Math.max(0, cy - side[1]);
        const x2 = Math.min(iw, cx + side[2]);
        const y2 = Math.min(ih, cy + side[3]);
        if (x2 <= x1 || y2 <= y1) continue;
        if (inner && ((inner[0] && x1 <= EDGE * iw) || (inner[1] && y1 <= EDGE * ih) || (inner[2] && x2 >= (1 - EDGE) * iw) || (inner[3] && y2 >= (1 - EDGE) * ih))) continue;
        const box: Box = [region.x + x1 * sx, region.y + y1 * sy, region.x + x2 * sx, region.y + y2 * sy];
        for (const [cls, t] of thresholds) {
          const score = scores[cell * classes + cls];
          if (score >= t) out.push({ box, score, cls });
        }
      }
    }
  }
  return out;
}
