/**
 * The tiled pass for small objects. SAM 3 sees every image stretched to S x S,
 * so a 30 px face in a 4K frame shrinks to about 8 px; overlapping tiles give
 * it more pixels. The whole frame is always one pass too, so objects larger
 * than a tile are still seen whole, and instances cut by tile borders are
 * merged back.
 */
import type { Box, BoxMask } from '../common/types';
import type { Region } from './mask-upsample';
import type { RawInstance } from './postprocess';

export type TilesOption = number | 'auto' | undefined;

/** Share of a tile that overlaps its neighbour, so an object on a border is whole in one of them. */
const OVERLAP = 0.2;
const MAX_TILES_PER_SIDE = 4;

function splits(length: number, count: number): Array<[number, number]> {
  if (count <= 1) return [[0, length]];
  const size = Math.ceil(length / (count - (count - 1) * OVERLAP));
  const step = (length - size) / (count - 1);
  return Array.from({ length: count }, (_, i) => {
    const start = Math.round(i * step);
    return [start, Math.min(size, length - start)] as [number, number];
  });
}

/**
 * Regions to run: the whole frame first, then the tiles. `tiles` is the
 * number of tiles along the longer side (0 or 1 = whole frame only), or
 * 'auto' for tiles about 1.5 times the model's input size.
 */
export function planTiles(width: number, height: number, tiles: TilesOption, imageSize: number): Region[] {
  const whole: Region = { x: 0, y: 0, width, height };
  let along: number;
  if (tiles === 'auto') along = Math.ceil(Math.max(width, height) / (1.5 * imageSize));
  else along = Math.floor(tiles ?? 0);
  along = Math.min(MAX_TILES_PER_SIDE, along);
  if (along <= 1) return [whole];
  const long = Math.max(width, height);
  const tileSide = long / along;
  const nx = width >= height ? along : Math.max(1, Math.round(width / tileSide));
  const ny = height > width ? along : Math.max(1, Math.round(height / tileSide));
  const regions = [whole];
  for (const [y, h] of splits(height, ny)) {
    for (const [x, w] of splits(width, nx)) regions.push({ x, y, width: w, height: h });
  }
  return regions;
}

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
