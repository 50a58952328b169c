/**
 * Cover for the frames between two detections. SAM 3 on a CPU takes seconds
 * per frame, so detection runs on a stride; a frame between detections at
 * frames a and b is covered by both detections' masks plus, for each object
 * matched across the two, its box interpolated to that frame (grown for the
 * motion of a frame either side), so a moving object is covered all the way.
 * An object seen at only one end (it came into view or left between the
 * two) has an unknown path: it is covered where it was seen, grown by how far
 * it could have moved since: frames away times the faster of the fastest
 * motion matched in this interval and half its own size per frame.
 */
import { boxMaskToRle } from '../common/rle';
import type { Box, Instance } from '../common/types';

export interface Detection {
  index: number;
  instances: Instance[];
}

const size = (b: Box): number => Math.max(b[2] - b[0], b[3] - b[1]);
const centre = (b: Box): [number, number] => [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];

function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** How alike two boxes are for matching: overlap first, then nearness in units of their size. */
function affinity(a: Box, b: Box): number {
  const overlap = iou(a, b);
  if (overlap > 0) return 1 + overlap;
  const [ax, ay] = centre(a), [bx, by] = centre(b);
  const dist = Math.hypot(ax - bx, ay - by) / Math.max(1, (size(a) + size(b)) / 2);
  return dist < 3 ? 1 / (1 + dist) : 0;
}

/** Greedy one-to-one matching of same-label instances, best affinity first. */
export function matchInstances(a: Instance[], b: Instance[]): Array<[number, number]> {
  const pairs: Array<[number, number, number]> = [];
  a.forEach((ia, i) => b.forEach((ib, j) => {
    if (ia.label !== ib.label) return;
    const s = affinity(ia.box, ib.box);
    if (s > 0) pairs.push([i, j, s]);
  }));
  pairs.sort((x, y) => y[2] - x[2]);
  const usedA = new Set<number>(), usedB = new Set<number>();
  const out: Array<[number, number]> = [];
  for (const [i, j] of pairs) {
    if (usedA.has(i) || usedB.has(j)) continue;
    usedA.add(i);
    usedB.add(j);
    out.push([i, j]);
  }
  return out;
}

function clipBox(b: Box, width: number, height: number): Box {
  return [
    Math.max(0, Math.floor(b[0])),
    Math.max(0, Math.floor(b[1])),
    Math.min(width, Math.ceil(b[2])),
    Math.min(height, Math.ceil(b[3])),
  ];
}

function boxInstance(label: string, score: number, b: Box, width: number, height: number): Instance | null {
  const box = clipBox(b, width, height);
  const w = box[2] - box[0], h = box[3] - box[1];
  if (w <= 0 || h <= 0) return null;
  const mask = boxMaskToRle({ x: box[0], y: box[1], width: w, height: h, data: new Uint8Array(w * h).fill(1) }, width, height);
  return { label, score, box, mask, carried: true };
}

const grow = (b: Box, by: number): Box => [b[0] - by, b[1] - by, b[2] + by, b[3] + by];
const lerp = (a: Box, b: Box, f: number): Box => a.map((v, i) => v + (b[i] - v) * f) as Box;

/**
 * Instances covering frame `t`, strictly between detections `a` and `b`
 * (a.index < t < b.index), in a width x height video. All marked carried.
 */
export function coverBetween(a: Detection, b: Detection, t: number, width: number, height: number): Instance[] {
  const span = b.index - a.index;
  const f = (t - a.index) / span;
  const out: Instance[] = [];
  for (const inst of [...a.instances, ...b.instances]) out.push({ ...inst, carried: true });
  const pairs = matchInstances(a.instances, b.instances);
  const matchedA = new Set(pairs.map(([i]) => i));
  const matchedB = new Set(pairs.map(([, j]) => j));
  let fastest = 0;
  for (const [i, j] of pairs) {
    const ba = a.instances[i].box, bb = b.instances[j].box;
    const [ax, ay] = centre(ba), [bx, by] = centre(bb);
    // One frame of motion either side, and 10 % of the object for shape change.
    const step = Math.hypot(bx - ax, by - ay) / span;
    fastest = Math.max(fastest, step);
    const at = grow(lerp(ba, bb, f), step + 0.1 * Math.max(size(ba), size(bb)));
    const score = Math.min(a.instances[i].score, b.instances[j].score);
    const inst = boxInstance(a.instances[i].label, score, at, width, height);
    if (inst) out.push(inst);
  }
  const lone: Array<[Instance, number]> = [
    ...a.instances.filter((_, i) => !matchedA.has(i)).map((inst): [Instance, number] => [inst, t - a.index]),
    ...b.instances.filter((_, j) => !matchedB.has(j)).map((inst): [Instance, number] => [inst, b.index - t]),
  ];
  for (const [inst, frames] of lone) {
    const speed = Math.max(fastest, 0.5 * size(inst.box));
    const grown = boxInstance(inst.label, inst.score, grow(inst.box, frames * speed + 0.1 * size(inst.box)), width, height);
    if (grown) out.push(grown);
  }
  return out;
}

/** An instance covering the whole frame: what a frame gets when its detection failed (fail closed). */
export const FAILED_LABEL = '*detection failed*';
export function wholeFrame(width: number, height: number): Instance {
  return { ...(boxInstance(FAILED_LABEL, 1, [0, 0, width, height], width, height) as Instance), carried: false };
}
