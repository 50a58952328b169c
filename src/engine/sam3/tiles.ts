/**
 * SAM 3's instances from the whole frame and its tiles (see ../tiling.ts)
 * joined back into one per object: a tile's piece of an object and the whole
 * frame's view of it become one instance.
 */
import type { Box, BoxMask } from '../../common/types';
import type { RawInstance } from '../instances';


function overlapPixels(a: BoxMask, b: BoxMask): number {
  const x0 = Math.max(a.x, b.x), x1 = Math.min(a.x + a.width, b.x + b.width);
  const y0 = Math.max(a.y, b.y), y1 = Math.min(a.y + a.height, b.y + b.height);
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (a.data[(y - a.y) * a.width + (x - a.x)] && b.data[(y - b.y) * b.width + (x - b.x)]) n++;
    }
  }
  return n;
}

function area(m: BoxMask): number {
  let n = 0;
  for (let i = 0; i < m.data.length; i++) n += m.data[i];
  return n;
}

function unionMask(a: BoxMask, b: BoxMask): BoxMask {
  const x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
  const width = Math.max(a.x + a.width, b.x + b.width) - x;
  const height = Math.max(a.y + a.height, b.y + b.height) - y;
  const data = new Uint8Array(width * height);
  for (const m of [a, b]) {
    for (let j = 0; j < m.height; j++) {
      const src = j * m.width, dst = (j + m.y - y) * width + (m.x - x);
      for (let i = 0; i < m.width; i++) if (m.data[src + i]) data[dst + i] = 1;
    }
  }
  return { x, y, width, height, data };
}

const unionBox = (a: Box, b: Box): Box => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

/**
 * Joins instances of the same label found by different passes when their
 * masks overlap by at least `minOverlap` of the smaller one: a tile's piece of
 * an object and the whole frame's view of it become one instance whose mask
 * is the union (covering more, never less).
 */
export function mergeAcrossPasses(instances: RawInstance[], minOverlap = 0.3): RawInstance[] {
  const parent = instances.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const areas = instances.map((inst) => area(inst.mask));
  for (let i = 0; i < instances.length; i++) {
    for (let j = i + 1; j < instances.length; j++) {
      const a = instances[i], b = instances[j];
      if (a.label !== b.label || a.source === b.source) continue;
      const smaller = Math.min(areas[i], areas[j]);
      if (smaller > 0 && overlapPixels(a.mask, b.mask) >= minOverlap * smaller) parent[find(j)] = find(i);
    }
  }
  const groups = new Map<number, RawInstance>();
  instances.forEach((inst, i) => {
    const root = find(i);
    const acc = groups.get(root);
    groups.set(
      root,
      acc
        ? { ...acc, score: Math.max(acc.score, inst.score), box: unionBox(acc.box, inst.box), mask: unionMask(acc.mask, inst.mask) }
        : inst,
    );
  });
  return [...groups.values()];
}
