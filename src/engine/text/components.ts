/**
 * Connected regions of a binary map (8-connected, as OpenCV's contours of a
 * DBNet bitmap are), each reduced to the outline points a convex hull needs.
 */
import { rowEndCorners, type Point } from './geometry';

export interface Component {
  /** Pixel corners at both ends of each row of the region. */
  outline: Point[];
  pixels: number;
}

/**
 * Labels the regions of `bitmap` (w x h, non-zero = set) by flood fill and
 * returns at most `limit` of them, in scan order.
 */
export function connectedComponents(bitmap: Uint8Array, w: number, h: number, limit: number): Component[] {
  const labels = new Int32Array(w * h);
  const stack = new Int32Array(w * h);
  const found: Component[] = [];
  let next = 0;
  for (let start = 0; start < w * h && found.length < limit; start++) {
    if (!bitmap[start] || labels[start]) continue;
    const id = ++next;
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    let minX = w, maxX = -1, minY = h, maxY = -1, pixels = 0;
    while (top > 0) {
      const p = stack[--top];
      const x = p % w, y = (p - x) / w;
      pixels++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (bitmap[q] && !labels[q]) {
            labels[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
    // Rows of this region only: a neighbour's pixels inside the same box carry another label.
    const bw = maxX - minX + 1, bh = maxY - minY + 1;
    const own = new Uint8Array(bw * bh);
    for (let y = minY; y <= maxY; y++) {
      for (let x = minX; x <= maxX; x++) if (labels[y * w + x] === id) own[(y - minY) * bw + (x - minX)] = 1;
    }
    found.push({ outline: rowEndCorners({ x: minX, y: minY, width: bw, height: bh, data: own }), pixels });
  }
  return found;
}
