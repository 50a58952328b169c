/**
 * Checks detections before any pixel is touched. Detections arrive as JSON
 * from other nodes, MQTT or files, so anything can be wrong with them; a
 * wrong one must stop the redaction (fail closed) with an error that says
 * which instance and what is wrong, never be skipped silently.
 */
import { rleArea } from '../common/rle';
import type { Box, Instance, Rle } from '../common/types';
import { CodedError } from '../common/coded-error';

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${v}`;
  return typeof v;
}

function checkBox(where: string, v: unknown, width: number, height: number): Box {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) {
    throw new CodedError('DETECTIONS_INVALID', `${where}.box must be [x1, y1, x2, y2] (four finite numbers), got ${describe(v)}`);
  }
  const [x1, y1, x2, y2] = v as number[];
  if (x2 < x1 || y2 < y1) throw new CodedError('DETECTIONS_INVALID', `${where}.box [${v.join(', ')}] has x2 < x1 or y2 < y1`);
  // A box that misses the image entirely is in some other frame of reference
  // (model input size, unrotated image), and so would its mask be.
  if (x1 >= width || y1 >= height || x2 <= 0 || y2 <= 0) {
    throw new CodedError('DETECTIONS_INVALID', `${where}.box [${v.join(', ')}] lies outside the ${width}x${height} upright image`);
  }
  return [x1, y1, x2, y2];
}

function checkMask(where: string, v: unknown, width: number, height: number): Rle {
  const m = v as Partial<Rle> | null;
  if (!m || typeof m !== 'object' || !Array.isArray(m.size) || typeof m.counts !== 'string') {
    throw new CodedError('DETECTIONS_INVALID', `${where}.mask must be COCO RLE { size: [height, width], counts: string }, got ${describe(v)}`);
  }
  const [h, w] = m.size;
  if (m.size.length !== 2 || h !== height || w !== width) {
    throw new CodedError(
      'DETECTIONS_INVALID',
      `${where}.mask.size is [${m.size.join(', ')}] but the upright image is ${width}x${height} ` +
        `(expected [${height}, ${width}]); masks must be in upright (EXIF-rotated) image coordinates`,
    );
  }
  try {
    rleArea({ size: [h, w], counts: m.counts });
  } catch (err) {
    throw new CodedError('DETECTIONS_INVALID', `${where}.mask: ${(err as Error).message}`);
  }
  return { size: [h, w], counts: m.counts };
}

/**
 * Check detections against the upright image size and return clean copies.
 * Throws on the first problem found.
 */
export function validateInstances(value: unknown, width: number, height: number): Instance[] {
  if (!Array.isArray(value)) throw new CodedError('DETECTIONS_INVALID', `instances must be an array, got ${describe(value)}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CodedError('DETECTIONS_INVALID', `image size must be two positive integers, got ${String(width)}x${String(height)}`);
  }
  return value.map((item: unknown, i): Instance => {
    const where = `instances[${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new CodedError('DETECTIONS_INVALID', `${where} must be an object, got ${describe(item)}`);
    const o = item as Record<string, unknown>;
    if (typeof o.label !== 'string') throw new CodedError('DETECTIONS_INVALID', `${where}.label must be a string, got ${describe(o.label)}`);
    if (typeof o.score !== 'number' || !Number.isFinite(o.score)) {
      throw new CodedError('DETECTIONS_INVALID', `${where}.score must be a finite number, got ${describe(o.score)}`);
    }
    if (o.mask === undefined) throw new CodedError('DETECTIONS_INVALID', `${where} has no mask`);
    const out: Instance = {
      label: o.label,
      score: o.score,
      box: checkBox(where, o.box, width, height),
      mask: checkMask(where, o.mask, width, height),
    };
    if (o.carried !== undefined) {
      if (typeof o.carried !== 'boolean') throw new CodedError('DETECTIONS_INVALID', `${where}.carried must be a boolean, got ${describe(o.carried)}`);
      out.carried = o.carried;
    }
    // Which model found it: a reviewer's additions ('review') pass every filter, and the record keeps who found what.
    if (o.backend !== undefined) {
      if (typeof o.backend !== 'string') throw new CodedError('DETECTIONS_INVALID', `${where}.backend must be a string, got ${describe(o.backend)}`);
      out.backend = o.backend;
    }
    if (typeof o.track === 'number' && Number.isInteger(o.track)) (out as Instance & { track?: number }).track = o.track;
    return out;
  });
}
