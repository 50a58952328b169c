/**
 * DBNet's post-processing of the text-probability map, as PaddleOCR's
 * DBPostProcess does it: threshold, connected regions, the minimum-area
 * rectangle of each, score = mean probability inside it, then unclip (the
 * network predicts text shrunk by a margin; unclipping grows it back so whole
 * characters are covered). One rectangle per text line.
 */
import { connectedComponents } from './components';
import { fillConvex, minAreaRect, rectCorners, unclip, type RotatedRect } from './geometry';

export interface DbParams {
  /** Probability above which a map pixel is text (PaddleOCR: 0.3). */
  binaryThreshold: number;
  /** Growth of each region: D = area * ratio / perimeter (PaddleOCR: 1.5). */
  unclipRatio: number;
  /** Regions whose shorter side is under this many map pixels are noise (PaddleOCR: 3). */
  minSize: number;
  /** At most this many regions per map (PaddleOCR: 1000). */
  maxCandidates: number;
}

export const DEFAULT_DB_PARAMS: DbParams = { binaryThreshold: 0.3, unclipRatio: 2, minSize: 3, maxCandidates: 1000 };

export interface TextLine {
  /** The unclipped line, in map pixels. */
  rect: RotatedRect;
  /** Mean text probability inside the line before unclipping. */
  score: number;
}

function meanInside(prob: Float32Array, w: number, h: number, r: RotatedRect): number {
  const m = fillConvex(rectCorners(r), w, h);
  if (!m) return 0;
  let sum = 0, n = 0;
  for (let y = 0; y < m.height; y++) {
    const row = (m.y + y) * w + m.x;
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x]) {
        sum += prob[row + x];
        n++;
      }
    }
  }
  return n ? sum / n : 0;
}

/** Lines in a w x h probability map scoring at least `minScore`. */
export function dbLines(prob: Float32Array, w: number, h: number, p: DbParams, minScore: number): TextLine[] {
  const bitmap = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) if (prob[i] > p.binaryThreshold) bitmap[i] = 1;
  const lines: TextLine[] = [];
  for (const c of connectedComponents(bitmap, w, h, p.maxCandidates)) {
    const rect = minAreaRect(c.outline);
    if (Math.min(rect.width, rect.height) < p.minSize) continue;
    const score = meanInside(prob, w, h, rect);
    if (score < minScore) continue;
    const grown = unclip(rect, p.unclipRatio);
    if (Math.min(grown.width, grown.height) < p.minSize + 2) continue;
    lines.push({ rect: grown, score });
  }
  return lines;
}
