/**
 * The tiled pass for small objects. A detector sees every image scaled to its
 * input size, so a 30 px face in a 4K frame shrinks to about 8 px in SAM 3's
 * 1008 px view; overlapping tiles give it more pixels. The whole frame is
 * always one pass too, so objects larger than a tile are still seen whole.
 * Any backend may cut its views this way.
 */
import type { TilesOption } from './backend';
import type { Region } from './region';

/** Share of a tile that overlaps its neighbour, so an object on a border is whole in one of them. */
export const TILE_OVERLAP = 0.2;
const MAX_TILES_PER_SIDE = 4;

function splits(length: number, count: number): Array<[number, number]> {
  if (count <= 1) return [[0, length]];
  const size = Math.ceil(length / (count - (count - 1) * TILE_OVERLAP));
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

