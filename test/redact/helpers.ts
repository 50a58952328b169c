/**
 * Test images and instances for the redact tests. Images are generated, never
 * stored: a noisy fine pattern (so blur visibly destroys it) with optional
 * alpha; instances are built with the same RLE encoder the engine uses.
 */
import sharp from 'sharp';
import { boxMaskToRle } from '../../src/common/rle';
import type { BoxMask, Instance } from '../../src/common/types';

export interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Deterministic pseudo-random bytes (LCG), so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
}

/** A 2-px checkerboard with noise: high-frequency content everywhere. */
export function pattern(width: number, height: number, channels = 3, seed = 1): Raw {
  const r = rng(seed);
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const on = ((x >> 1) + (y >> 1)) & 1;
      const p = (y * width + x) * channels;
      for (let c = 0; c < Math.min(3, channels); c++) data[p + c] = on ? 200 + (r() % 55) : r() % 55;
      if (channels === 4) data[p + 3] = 40 + ((x * 7 + y * 3) % 216);
    }
  }
  return { data, width, height, channels };
}

export function png(raw: Raw): Promise<Buffer> {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels as 3 | 4 } }).png().toBuffer();
}

export async function decode(buf: Buffer): Promise<Raw> {
  const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export function rectMask(x: number, y: number, w: number, h: number): BoxMask {
  return { x, y, width: w, height: h, data: new Uint8Array(w * h).fill(1) };
}

/** An ellipse filling the rectangle: a mask that is not its box. */
export function ellipseMask(x: number, y: number, w: number, h: number): BoxMask {
  const data = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const dx = (i + 0.5 - w / 2) / (w / 2);
      const dy = (j + 0.5 - h / 2) / (h / 2);
      if (dx * dx + dy * dy <= 1) data[j * w + i] = 1;
    }
  }
  return { x, y, width: w, height: h, data };
}

export function instance(m: BoxMask, imageWidth: number, imageHeight: number, label = 'face', score = 0.9): Instance {
  return { label, score, box: [m.x, m.y, m.x + m.width, m.y + m.height], mask: boxMaskToRle(m, imageWidth, imageHeight) };
}

/** Euclidean distance from (x, y) to the nearest mask pixel, searched within `limit`; Infinity beyond. */
export function distanceTo(m: BoxMask, x: number, y: number, limit: number): number {
  let best = Infinity;
  const r = Math.ceil(limit);
  for (let j = Math.max(0, y - r - m.y); j < Math.min(m.height, y + r + 1 - m.y); j++) {
    for (let i = Math.max(0, x - r - m.x); i < Math.min(m.width, x + r + 1 - m.x); i++) {
      if (!m.data[j * m.width + i]) continue;
      const d = Math.hypot(m.x + i - x, m.y + j - y);
      if (d < best) best = d;
    }
  }
  return best <= limit ? best : Infinity;
}

/** Mean absolute difference between horizontal neighbours over pixels where `inside` holds: high for the pattern, low once blurred. */
export function roughness(img: Raw, inside: (x: number, y: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x + 1 < img.width; x++) {
      if (!inside(x, y) || !inside(x + 1, y)) continue;
      const p = (y * img.width + x) * img.channels;
      for (let c = 0; c < 3; c++) sum += Math.abs(img.data[p + c] - img.data[p + img.channels + c]);
      n += 3;
    }
  }
  return sum / n;
}

export function pixel(img: Raw, x: number, y: number): number[] {
  const p = (y * img.width + x) * img.channels;
  return [...img.data.subarray(p, p + img.channels)];
}
