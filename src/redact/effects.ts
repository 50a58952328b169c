/**
 * The three effects, each rendered for one cover rectangle only. Strength
 * scales with the region (privacy: a large face blurred with a small sigma
 * stays recognisable), and every pixel a rendered effect depends on comes from
 * the region or its surroundings, never from a stretched edge of the region.
 */
import sharp from 'sharp';
import type { Cover } from './masks';
import { expandRect, type Frame, type Rect } from './frame';
import type { RedactMode } from './types';

export interface EffectSettings {
  mode: RedactMode;
  /** The region is a line of text: default strengths scale with its letter height. */
  text?: boolean;
  fill: [number, number, number];
  blurSigma: number | null;
  pixelSize: number | null;
}

/**
 * Default blur sigma: at least 8 px, at least 1/8 of the region's shorter
 * side; for a text line, whose shorter side is one letter high, at least 1/4
 * (at 1/8, 50 px letters were still read by the recogniser).
 */
export function sigmaFor(shortSide: number, override: number | null, text = false): number {
  return override ?? Math.max(8, shortSide / (text ? 4 : 8));
}

/** Default mosaic cell: at least 8 px, at least 1/10 of the region's shorter side (1/4 for a text line). */
export function cellFor(shortSide: number, override: number | null, text = false): number {
  return override ?? Math.max(8, Math.ceil(shortSide / (text ? 4 : 10)));
}

/**
 * The part of the frame an effect reads: the blur reaches past the cover by
 * its kernel; the mosaic and the fill stay inside it.
 */
export function effectReach(frame: { width: number; height: number }, cover: Cover, s: EffectSettings): Rect {
  if (s.mode !== 'blur') return { x: cover.x, y: cover.y, width: cover.width, height: cover.height };
  return expandRect(cover, blurMargin(sigmaFor(cover.shortSide, s.blurSigma, s.text)), frame.width, frame.height);
}

const blurMargin = (sigma: number): number => Math.ceil(2 * sigma) + 2;

/**
 * An effect's pixels for a rectangle of the frame that holds the cover,
 * packed and laid out like the frame (same channels). Only the colour
 * channels are used by the blend.
 */
export interface Rendered {
  data: Buffer;
  rect: Rect;
}

/** The effect a cover asks for: fill and mosaic over the cover's own rectangle, blur over it and its kernel's reach. */
export async function renderEffect(frame: Frame, cover: Cover, s: EffectSettings): Promise<Rendered> {
  const rect: Rect = { x: cover.x, y: cover.y, width: cover.width, height: cover.height };
  switch (s.mode) {
    case 'fill':
      return { data: fillRect(cover, frame.channels, s.fill), rect };
    case 'pixelate':
      return { data: pixelate(frame, cover, cellFor(cover.shortSide, s.pixelSize, s.text)), rect };
    case 'blur':
      return blur(frame, cover, sigmaFor(cover.shortSide, s.blurSigma, s.text));
  }
}

function fillRect(r: Rect, channels: number, rgb: [number, number, number]): Buffer {
  const out = Buffer.alloc(r.width * r.height * channels);
  for (let i = 0; i < out.length; i += channels) {
    out[i] = rgb[0];
    out[i + 1] = rgb[1];
    out[i + 2] = rgb[2];
  }
  return out;
}

/**
 * Blur the cover rectangle plus a margin as wide as the kernel reaches
 * (sharp's Gaussian is cut where it falls below 0.2, at 1.8 sigma), so pixels
 * near the region's edge are averaged with their real surroundings as in a
 * whole-image blur, not with a copied edge row that would keep a sharp stripe.
 * sharp reads the area straight from the frame (no copy of it is made here),
 * and the blend reads the cover out of the blurred area.
 */
async function blur(frame: Frame, cover: Cover, sigma: number): Promise<Rendered> {
  const area = expandRect(cover, blurMargin(sigma), frame.width, frame.height);
  return { data: await blurArea(frame, area, sigma), rect: area };
}

/**
 * Large sigmas are blurred at a reduced scale: shrink by k, blur by sigma/k,
 * enlarge back. The result is as smooth as (slightly smoother than) the full
 * blur (within 3 levels of it in tests), at a cost that stops growing with
 * sigma. Below sigma 40 the direct blur is faster (measured), so it is used.
 */
async function blurArea(frame: Frame, area: Rect, sigma: number): Promise<Buffer> {
  const { channels } = frame;
  const whole = area.x === 0 && area.y === 0 && area.width === frame.width && area.height === frame.height;
  const source = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels } });
  const cut = whole ? source : source.extract({ left: area.x, top: area.y, width: area.width, height: area.height });
  const k = sigma > 40 ? Math.floor(sigma / 8) : 1;
  if (k === 1) return cut.blur(sigma).raw().toBuffer();
  const sw = Math.max(1, Math.round(area.width / k));
  const sh = Math.max(1, Math.round(area.height / k));
  const small = await cut.resize(sw, sh, { fit: 'fill' }).blur(sigma / k).raw().toBuffer();
  return sharp(small, { raw: { width: sw, height: sh, channels } })
    .resize(area.width, area.height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
}

/** Cell edges along one side: n = floor(length / cell) equal cells, each at least `cell` long. */
function cellIndex(length: number, cell: number): { index: Int32Array; count: number } {
  const count = Math.max(1, Math.floor(length / cell));
  const index = new Int32Array(length);
  for (let i = 0; i < length; i++) index[i] = Math.min(count - 1, Math.floor((i * count) / length));
  return { index, count };
}

/**
 * Mosaic with cells aligned to the cover rectangle. Cells divide the
 * rectangle evenly, so none is a thin sliver (a one-pixel-wide leftover
 * column at an image border would stay readable). Colours are averaged with
 * alpha as the weight, so transparent pixels do not tint a cell.
 */
function pixelate(frame: Frame, cover: Cover, cell: number): Buffer {
  const ch = frame.channels;
  const cols = cellIndex(cover.width, cell);
  const rows = cellIndex(cover.height, cell);
  const sums = new Float64Array(cols.count * rows.count * 4);
  for (let y = 0; y < cover.height; y++) {
    const rowBase = rows.index[y] * cols.count;
    let p = ((cover.y + y) * frame.width + cover.x) * ch;
    for (let x = 0; x < cover.width; x++, p += ch) {
      // The small constant gives a fully transparent cell the plain average, not 0/0.
      const w = ch === 4 ? frame.data[p + 3] + 1e-3 : 1;
      const s = (rowBase + cols.index[x]) * 4;
      sums[s] += frame.data[p] * w;
      sums[s + 1] += frame.data[p + 1] * w;
      sums[s + 2] += frame.data[p + 2] * w;
      sums[s + 3] += w;
    }
  }
  const means = new Uint8Array(cols.count * rows.count * 3);
  for (let c = 0, s = 0; c < means.length; c += 3, s += 4) {
    means[c] = Math.round(sums[s] / sums[s + 3]);
    means[c + 1] = Math.round(sums[s + 1] / sums[s + 3]);
    means[c + 2] = Math.round(sums[s + 2] / sums[s + 3]);
  }
  const out = Buffer.alloc(cover.width * cover.height * ch);
  for (let y = 0, o = 0; y < cover.height; y++) {
    const rowBase = rows.index[y] * cols.count;
    for (let x = 0; x < cover.width; x++, o += ch) {
      const m = (rowBase + cols.index[x]) * 3;
      out[o] = means[m];
      out[o + 1] = means[m + 1];
      out[o + 2] = means[m + 2];
    }
  }
  return out;
}
