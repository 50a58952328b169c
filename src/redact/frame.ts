/**
 * The decoded, upright, 8-bit image the redaction works on, and the
 * rectangles of it that effects render.
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
