/**
 * Translucent images. What a viewer sees of an RGBA pixel depends on the
 * background it is shown on, and an alpha channel can itself carry a shape
 * (text drawn only in alpha, over colour that is the same everywhere). So a
 * translucent image is redacted as the colour it shows over white; then,
 * inside the covers, alpha becomes opaque (the shape it carried is gone and
 * the redacted colour shows on any background), and outside them the colour
 * under fully transparent pixels is set to zero (colour nobody sees is
 * colour nobody should be able to recover).
 */
import { compositeOver, hasTranslucency } from '../common/image-source';
import type { Frame } from './frame';
import type { Cover } from './masks';

/** The frame to redact: `frame` itself, or for a translucent RGBA frame its RGB composite over white. */
export function colourToRedact(frame: Frame): { work: Frame; rgba: Frame | null } {
  if (frame.channels !== 4 || !hasTranslucency(frame)) return { work: frame, rgba: null };
  return { work: { data: compositeOver(frame, 255), width: frame.width, height: frame.height, channels: 3 }, rgba: frame };
}

/** The strongest cover over each pixel (0..255). */
function coverageOf(covers: readonly Cover[], width: number, height: number): Uint8Array {
  const map = new Uint8Array(width * height);
  for (const c of covers) {
    for (let y = 0; y < c.height; y++) {
      const row = (c.y + y) * width + c.x;
      for (let x = 0; x < c.width; x++) {
        const a = c.alpha[y * c.width + x];
        if (a > map[row + x]) map[row + x] = a;
      }
    }
  }
  return map;
}

/**
 * The output RGBA frame: inside the covers the redacted colour with alpha
 * raised towards opaque by the cover's strength, outside them the original
 * pixel (colour zeroed under alpha 0). `covers` 'all': the whole image.
 */
export function withAlpha(rgba: Frame, redacted: Frame, covers: readonly Cover[] | 'all'): Frame {
  const { width, height } = rgba;
  const map = covers === 'all' ? null : coverageOf(covers, width, height);
  const out = Buffer.allocUnsafe(width * height * 4);
  const src = rgba.data;
  const red = redacted.data;
  for (let i = 0, j = 0, k = 0; i < width * height; i++, j += 4, k += 3) {
    const m = map ? map[i] : 255;
    const a = src[j + 3];
    if (m === 0) {
      if (a === 0) out.writeUInt32LE(0, j);
      else src.copy(out, j, j, j + 4);
      continue;
    }
    out[j] = red[k];
    out[j + 1] = red[k + 1];
    out[j + 2] = red[k + 2];
    out[j + 3] = a + ((255 - a) * m + 127) / 255;
  }
  return { data: out, width, height, channels: 4 };
}
