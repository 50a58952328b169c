/**
 * What a video's small-face pass remembers between its frames, in the host:
 * each tile's pixels (as 8 x 8 block means) and the faces it found when it
 * last ran. A tile whose blocks all look as they did then finds what it found
 * then, so it is not run again; a static camera's tiled pass then costs a few
 * tiles where people move instead of all 60 of a 1080p frame.
 *
 * Why this cannot hide a face that is there: a tile is compared with the
 * frame it last ran on, not the previous one, so change that creeps in over
 * many frames adds up; a face large enough for the detector to find (12 px at
 * the tile's scale) covers more than half of some block, whose mean moves by
 * that share of the face's contrast with what was there before; and every tile
 * runs again after MAX_SKIPS calls whatever its pixels, so an unnoticed change
 * is found within a few strides.
 */

/** Side of the square blocks whose means stand for a tile's pixels. */
export const BLOCK = 8;
/** Largest change of any block's mean (grey levels, per channel) that still counts as the same pixels: what re-encoding leaves. */
export const TOLERANCE = 4;
/** Calls in a row a tile may keep its faces before it runs again whatever its pixels. */
export const MAX_SKIPS = 3;
/** Videos remembered at once in one host (least recently used forgotten first). */
const KEPT = 8;

/**
 * Block means of a width x height rectangle at (x, y) of an RGB image `stride`
 * pixels wide. Each row adds its runs of BLOCK pixels up in locals and then
 * into their block: a tiled 1080p frame signs 4.6 million pixels, and a
 * division and three array writes per pixel made this a tenth of the host's
 * time.
 */
export function tileSignature(rgb: Uint8Array, stride: number, x: number, y: number, width: number, height: number): Uint8Array {
  const cols = Math.ceil(width / BLOCK);
  const rows = Math.ceil(height / BLOCK);
  const sums = new Uint32Array(cols * rows * 3);
  for (let r = 0; r < height; r++) {
    let s = Math.floor(r / BLOCK) * cols * 3;
    let i = ((y + r) * stride + x) * 3;
    for (let c = 0; c < width; c += BLOCK, s += 3) {
      const end = i + Math.min(BLOCK, width - c) * 3;
      let red = 0;
      let green = 0;
      let blue = 0;
      for (; i < end; i += 3) {
        red += rgb[i];
        green += rgb[i + 1];
        blue += rgb[i + 2];
      }
      sums[s] += red;
      sums[s + 1] += green;
      sums[s + 2] += blue;
    }
  }
  const out = new Uint8Array(sums.length);
  for (let b = 0; b < cols * rows; b++) {
    // Edge blocks may be narrower or shorter than BLOCK.
    const w = Math.min(BLOCK, width - (b % cols) * BLOCK);
    const h = Math.min(BLOCK, height - Math.floor(b / cols) * BLOCK);
    for (let k = 0; k < 3; k++) out[b * 3 + k] = Math.round(sums[b * 3 + k] / (w * h));
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > TOLERANCE) return false;
  return true;
}

interface TileRecord<C> {
  signature: Uint8Array;
  found: C[];
  skipped: number;
}

/** One video's tiles: what each found when it last ran, by where it lies and the score it asked. */
export class TileMemory<C> {
  private readonly tiles = new Map<string, TileRecord<C>>();
  /**
   * Faces only tiles found that the second look confirmed, by their exact
   * box: a tile that kept its faces gives the very same box again, and it
   * stays confirmed (at most MAX_SKIPS times, like the tile) instead of three
   * more passes framed around it. Only confirmations are kept: the second
   * look also reads pixels around the tile, which may have changed, and a
   * kept confirmation can only hide more, never less.
   */
  private readonly confirmed = new Map<string, number>();

  constructor(readonly width: number, readonly height: number) {}

  /** What the tile found when it last ran, if its pixels still look the same and it has not kept that too long; counts the call. */
  recall(tile: string, signature: Uint8Array): C[] | undefined {
    const r = this.tiles.get(tile);
    if (!r || r.skipped >= MAX_SKIPS || !same(r.signature, signature)) return undefined;
    r.skipped++;
    return r.found;
  }

  /** The tile ran on these pixels and found this. */
  remember(tile: string, signature: Uint8Array, found: C[]): void {
    this.tiles.set(tile, { signature, found, skipped: 0 });
  }

  /** Whether the second look confirmed a face with exactly this box lately; counts the use. */
  wasConfirmed(box: readonly number[]): boolean {
    const key = box.join(',');
    const uses = this.confirmed.get(key);
    if (uses === undefined) return false;
    if (uses >= MAX_SKIPS) {
      this.confirmed.delete(key);
      return false;
    }
    this.confirmed.set(key, uses + 1);
    return true;
  }

  /** The second look confirmed a face at this box. */
  confirm(box: readonly number[]): void {
    this.confirmed.set(box.join(','), 0);
    // A face that moved leaves its old box behind: keep the list to what a frame can hold.
    if (this.confirmed.size > 256) this.confirmed.delete(this.confirmed.keys().next().value as string);
  }
}

/** The memories of the videos a host serves, by the key their calls name. */
export class TileMemories<C> {
  private readonly byKey = new Map<string, TileMemory<C>>();

  /** The memory under `key` for frames of this size; a new one when the size differs (another video under the same key). */
  get(key: string, width: number, height: number): TileMemory<C> {
    let m = this.byKey.get(key);
    this.byKey.delete(key);
    if (!m || m.width !== width || m.height !== height) m = new TileMemory<C>(width, height);
    this.byKey.set(key, m);
    if (this.byKey.size > KEPT) this.byKey.delete(this.byKey.keys().next().value as string);
    return m;
  }

  clear(): void {
    this.byKey.clear();
  }
}
