/**
 * The verification pass: the recogniser reads each redacted text line in the
 * input and in the output. A line is still legible when the output reading
 * keeps more than 30 % of the input reading (normalised edit distance) and
 * the recogniser is sure of both readings (confidence above 0.5). Redaction
 * is then treated as failed: fail closed, with what was read.
 */
import { rleToBoxMask } from '../../common/rle';
import type { Instance } from '../../common/types';
import type { DecodedImage } from '../image-input';
import type { InferenceHost } from '../host/inference-host';
import { isTextPrompt } from '../prompts';
import { minAreaRect, rowEndCorners, type Point, type RotatedRect } from './geometry';
import type { Turn } from './rec-crop';
import { readingSimilarity } from './similarity';
import type { RgbImage, TextOps } from './protocol';
import { CodedError } from '../../common/coded-error';

export interface VerifyOptions {
  /** Labels whose instances are read (default: the text prompts, e.g. 'text', 'words'). */
  labels?: string[];
  /** Share of the input reading that may survive (default 0.3: more is legible). */
  maxSimilarity?: number;
  /** Recogniser confidence above which a reading counts (default 0.5). */
  minConfidence?: number;
}

export interface LegibleLine {
  /** Index of the instance in the list given. */
  index: number;
  label: string;
  /** What the recogniser read in the input. */
  before: string;
  /** What it still reads in the output. */
  after: string;
  similarity: number;
  /** The recogniser's confidence in the output reading. */
  confidence: number;
}

export interface LineCheck extends LegibleLine {
  beforeConfidence: number;
  legible: boolean;
}

export interface VerificationResult {
  /** Lines still legible after redaction: empty when the redaction held. */
  legible: LegibleLine[];
  /** Instances read in both images. */
  checked: number;
  /** Of those, lines the recogniser could not read even in the input (nothing to compare). */
  unreadable: number;
  lines: LineCheck[];
  ms: number;
}

export class StillLegibleError extends Error {
  readonly code = 'STILL_LEGIBLE';
  constructor(readonly legible: LegibleLine[]) {
    const lines = legible.map(
      (l) => `#${l.index} "${l.before}" still reads "${l.after}" (similarity ${l.similarity.toFixed(2)}, confidence ${l.confidence.toFixed(2)})`,
    );
    super(`redaction failed verification: ${legible.length} text line${legible.length === 1 ? ' is' : 's are'} still legible: ${lines.join('; ')}`);
    this.name = 'StillLegibleError';
  }
}

/** Throws StillLegibleError when verification found anything legible. */
export function assertIllegible(result: VerificationResult): void {
  if (result.legible.length > 0) throw new StillLegibleError(result.legible);
}

/** The line's rotated rectangle, recovered from its mask (or its box when the mask is empty). */
export function lineRect(inst: Instance): RotatedRect {
  const mask = rleToBoxMask(inst.mask);
  if (mask) return minAreaRect(rowEndCorners(mask));
  const [x1, y1, x2, y2] = inst.box;
  const corners: Point[] = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]];
  return minAreaRect(corners);
}

/**
 * Directions to try in the input. A line reads along its longer side, one way
 * or the other; a short, squarish one (a word of two letters) may read across.
 */
function turnsFor(r: RotatedRect): Turn[] {
  return r.width < 2 * r.height ? [0, 2, 1, 3] : [0, 2];
}

function ratio(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new CodedError('OPTION_INVALID', `verify option ${name} must be a number from 0 to 1, got ${String(v)}`);
  return v;
}

export async function verifyLines(
  host: InferenceHost,
  original: DecodedImage,
  redacted: DecodedImage,
  instances: Instance[],
  options: VerifyOptions = {},
): Promise<VerificationResult> {
  const t0 = performance.now();
  if (original.width !== redacted.width || original.height !== redacted.height) {
    throw new CodedError('IMAGE_SIZE_MISMATCH', `cannot verify: the original is ${original.width}x${original.height} but the redacted image is ${redacted.width}x${redacted.height}`);
  }
  const maxSimilarity = ratio('maxSimilarity', options.maxSimilarity, 0.3);
  const minConfidence = ratio('minConfidence', options.minConfidence, 0.5);
  const wanted = options.labels ? new Set(options.labels) : null;
  const chosen = instances
    .map((inst, index) => ({ inst, index }))
    .filter(({ inst }) => (wanted ? wanted.has(inst.label) : isTextPrompt(inst.label)));
  if (chosen.length === 0) return { legible: [], checked: 0, unreadable: 0, lines: [], ms: performance.now() - t0 };

  // The input is read in every plausible direction; the output the way the input read best.
  const rects = chosen.map(({ inst }) => lineRect(inst));
  const read = host.calls<TextOps>('ocr');
  const first = await read.call('read', { image: pixelsOf(original), crops: rects.map((rect) => ({ rect, turns: turnsFor(rect) })) }, 'reading text');
  const second = await read.call('read', {
    image: pixelsOf(redacted),
    crops: rects.map((rect, i) => ({ rect, turns: [first.readings[i].turn] })),
  }, 'reading text');

  const lines: LineCheck[] = chosen.map(({ inst, index }, i) => {
    const before = first.readings[i], after = second.readings[i];
    const similarity = readingSimilarity(before.text, after.text);
    const legible = before.confidence > minConfidence && after.confidence > minConfidence && similarity > maxSimilarity;
    return {
      index,
      label: inst.label,
      before: before.text,
      beforeConfidence: round(before.confidence),
      after: after.text,
      confidence: round(after.confidence),
      similarity: round(similarity),
      legible,
    };
  });
  return {
    legible: lines
      .filter((l) => l.legible)
      .map(({ index, label, before, after, similarity, confidence }) => ({ index, label, before, after, similarity, confidence })),
    checked: lines.length,
    unreadable: lines.filter((l) => !(l.beforeConfidence > minConfidence) || !l.before).length,
    lines,
    ms: performance.now() - t0,
  };
}

/** Only the pixels travel to the host (a decoded image also carries functions). */
const pixelsOf = (d: DecodedImage): RgbImage => ({ rgb: d.rgb, width: d.width, height: d.height });

const round = (v: number): number => Math.round(v * 1e4) / 1e4;
