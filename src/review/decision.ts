/**
 * A reviewer's decision applied to an image's detections: instances turned
 * off are removed (and kept aside for the record), shapes drawn over what was
 * missed become instances that every filter lets through, and each change is
 * listed for the audit.
 */
import { boxMaskToRle } from '../common/rle';
import { CodedError } from '../common/coded-error';
import type { Box, Instance } from '../common/types';
import { REVIEW_BACKEND, zoneMask } from '../redact';

export type DrawnShape = { type: 'box'; box: Box } | { type: 'polygon'; points: Array<[number, number]> };

export interface ReviewInput {
  /** One flag per detection, in order: false removes it. */
  keep: boolean[];
  /** Shapes drawn over what detection missed, in image pixels. */
  added: DrawnShape[];
}

export type ReviewChange =
  | { change: 'removed'; label: string; score: number; backend?: string; box: Box }
  | { change: 'added'; shape: 'box' | 'polygon'; box: Box };

export interface AppliedReview {
  detections: Instance[];
  removed: Instance[];
  changes: ReviewChange[];
}

/** The label of what a reviewer drew. */
export const REVIEW_LABEL = 'added in review';

const MAX_SHAPES = 200;

function invalid(what: string): CodedError {
  return new CodedError('REVIEW_INVALID', `review decision: ${what}`);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a decision that came over HTTP; the error says what is wrong. */
export function readReviewInput(value: unknown, detections: number): ReviewInput {
  const v = (value ?? {}) as { keep?: unknown; added?: unknown };
  const keep = v.keep === undefined ? new Array<boolean>(detections).fill(true) : v.keep;
  if (!Array.isArray(keep) || keep.length !== detections || !keep.every((k) => typeof k === 'boolean')) {
    throw invalid(`keep must be ${detections} true/false flags, one per detection`);
  }
  const added = v.added ?? [];
  if (!Array.isArray(added) || added.length > MAX_SHAPES) throw invalid(`added must be a list of at most ${MAX_SHAPES} shapes`);
  return {
    keep,
    added: added.map((s: unknown, i): DrawnShape => {
      const shape = s as { type?: unknown; box?: unknown; points?: unknown };
      if (shape?.type === 'box' && Array.isArray(shape.box) && shape.box.length === 4 && shape.box.every(isNum)) return { type: 'box', box: shape.box as Box };
      if (shape?.type === 'polygon' && Array.isArray(shape.points) && shape.points.length >= 3 && shape.points.length <= 256 &&
        shape.points.every((p: unknown) => Array.isArray(p) && p.length === 2 && p.every(isNum))) {
        return { type: 'polygon', points: shape.points as Array<[number, number]> };
      }
      throw invalid(`shape ${i + 1} must be { type: "box", box: [x1, y1, x2, y2] } or { type: "polygon", points: [[x, y], ...] } (3 or more points)`);
    }),
  };
}

/** The shape as a mask over the image, clipped to it; null when nothing of it is inside. */
function shapeInstance(shape: DrawnShape, width: number, height: number): Instance | null {
  const clip = (v: number, max: number): number => Math.min(max, Math.max(0, v));
  const points: Array<[number, number]> = shape.type === 'polygon'
    ? shape.points.map(([x, y]) => [clip(x, width) / width, clip(y, height) / height])
    : [[shape.box[0], shape.box[1]], [shape.box[2], shape.box[1]], [shape.box[2], shape.box[3]], [shape.box[0], shape.box[3]]].map(
        ([x, y]): [number, number] => [clip(x, width) / width, clip(y, height) / height],
      );
  const mask = zoneMask({ points }, width, height);
  if (!mask) return null;
  const box: Box = [mask.x, mask.y, mask.x + mask.width, mask.y + mask.height];
  return { label: REVIEW_LABEL, score: 1, box, mask: boxMaskToRle(mask, width, height), backend: REVIEW_BACKEND };
}

export function applyReview(detections: Instance[], width: number, height: number, input: ReviewInput): AppliedReview {
  const kept: Instance[] = [];
  const removed: Instance[] = [];
  const changes: ReviewChange[] = [];
  detections.forEach((d, i) => {
    if (input.keep[i]) return void kept.push(d);
    removed.push(d);
    changes.push({ change: 'removed', label: d.label, score: d.score, ...(d.backend ? { backend: d.backend } : {}), box: d.box });
  });
  for (const shape of input.added) {
    const inst = shapeInstance(shape, width, height);
    if (!inst) continue;
    kept.push(inst);
    changes.push({ change: 'added', shape: shape.type, box: inst.box });
  }
  return { detections: kept, removed, changes };
}
