/** Test images: coloured rectangles on a neutral background, made with sharp. */
import sharp from 'sharp';
import type { RawFrame } from '../../src/common/types';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  rgb: [number, number, number];
}

/** Raw RGB pixels: grey background with the given rectangles painted on. */
export function paint(width: number, height: number, rects: Rect[], background: [number, number, number] = [128, 128, 128]): RawFrame {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) data.set(r.rgb, (y * width + x) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

export async function encode(frame: RawFrame, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const img = sharp(Buffer.from(frame.data), { raw: { width: frame.width, height: frame.height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}
