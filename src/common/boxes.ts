/** Arithmetic on pixel boxes [x1, y1, x2, y2] shared by every layer that matches or merges detections. */
import type { Box, BoxMask } from './types';

/** Pixels a box holds. */
export function boxArea(b: Box): number {
  return (b[2] - b[0]) * (b[3] - b[1]);
}

/** Pixels two boxes share; 0 for boxes that do not overlap. */
export function intersectionArea(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union; 0 for boxes that do not overlap. */
export function iou(a: Box, b: Box): number {
  const inter = intersectionArea(a, b);
  if (inter === 0) return 0;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

/** A box grown by `growX` of its width on the left and right and `growY` of its height above and below, whole pixels, clipped to the image. */
export function growBox(box: Box, growX: number, growY: number, width: number, height: number): Box | null {
  const gx = (box[2] - box[0]) * growX;
  const gy = (box[3] - box[1]) * growY;
  const x0 = Math.max(0, Math.floor(box[0] - gx));
  const y0 = Math.max(0, Math.floor(box[1] - gy));
  const x1 = Math.min(width, Math.ceil(box[2] + gx));
  const y1 = Math.min(height, Math.ceil(box[3] + gy));
  return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : null;
}

/** The mask that covers the whole of a box. */
export function boxFill(box: Box): BoxMask {
  const width = box[2] - box[0];
  const height = box[3] - box[1];
  return { x: box[0], y: box[1], width, height, data: new Uint8Array(width * height).fill(1) };
}
