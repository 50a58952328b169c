/**
 * Blends a rendered effect into the frame through a cover's alpha. Colour
 * channels only: an RGBA image keeps its alpha byte for byte, so redaction
 * never changes an image's shape or transparency.
 */
import type { Frame } from './frame';
import type { Rendered } from './effects';
import type { Cover } from './masks';

export function blendInto(frame: Frame, cover: Cover, effect: Rendered): void {
  const ch = frame.channels;
  const data = frame.data;
  const fx = effect.data;
  const { rect } = effect;
  for (let y = 0; y < cover.height; y++) {
    let p = ((cover.y + y) * frame.width + cover.x) * ch;
    // The effect's rectangle holds the cover (a blur's is larger by its kernel's reach).
    let e = ((cover.y - rect.y + y) * rect.width + (cover.x - rect.x)) * ch;
    for (let x = 0, i = y * cover.width; x < cover.width; x++, i++, p += ch, e += ch) {
      const a = cover.alpha[i];
      if (a === 0) continue;
      if (a === 255) {
        data[p] = fx[e];
        data[p + 1] = fx[e + 1];
        data[p + 2] = fx[e + 2];
        continue;
      }
      const b = 255 - a;
      data[p] = (data[p] * b + fx[e] * a + 127) / 255;
      data[p + 1] = (data[p + 1] * b + fx[e + 1] * a + 127) / 255;
      data[p + 2] = (data[p + 2] * b + fx[e + 2] * a + 127) / 255;
    }
  }
}
