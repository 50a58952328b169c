import { rleToBoxMask } from '../../src/common/rle';
import type { Rle } from '../../src/common/types';
import type { Rect } from './images';

/** How much of `rect` the mask covers, and how many mask pixels lie outside it. */
export function coverage(mask: Rle, rect: Omit<Rect, 'rgb'>): { inside: number; outside: number } {
  const m = rleToBoxMask(mask);
  if (!m) return { inside: 0, outside: 0 };
  let inside = 0, outside = 0;
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.data[y * m.width + x]) continue;
      const px = x + m.x, py = y + m.y;
      if (px >= rect.x && px < rect.x + rect.width && py >= rect.y && py < rect.y + rect.height) inside++;
      else outside++;
    }
  }
  return { inside: inside / (rect.width * rect.height), outside };
}
