/**
 * The decoded, upright, 8-bit image the redaction works on, and the one
 * helper every effect needs: copying a rectangle out of it.
 */

export interface Frame {
  data: Buffer;
  width: number;
  height: number;
  /** RGB or RGBA; greyscale sources are widened to RGB when decoded. */
  channels: 3 | 4;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Copy `r` (inside the frame) into a new tightly packed buffer. */
export function copyRect(f: Frame, r: Rect): Buffer {
  const stride = r.width * f.channels;
  const out = Buffer.allocUnsafe(stride * r.height);
  for (let y = 0; y < r.height; y++) {
    const src = ((r.y + y) * f.width + r.x) * f.channels;
    f.data.copy(out, y * stride, src, src + stride);
  }
  return out;
}

/** Grow `r` by `margin` on every side, clipped to the frame. */
export function expandRect(r: Rect, margin: number, width: number, height: number): Rect {
  const x = Math.max(0, r.x - margin);
  const y = Math.max(0, r.y - margin);
  return {
    x,
    y,
    width: Math.min(width, r.x + r.width + margin) - x,
    height: Math.min(height, r.y + r.height + margin) - y,
  };
}
