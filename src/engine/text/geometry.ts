/**
 * Plane geometry for text lines: the convex hull of a region, its minimum-area
 * rotated rectangle (what OpenCV's minAreaRect gives DBNet), growing that
 * rectangle, and filling a convex polygon into a mask. Pure functions, pixel
 * coordinates with y pointing down.
 */
import type { BoxMask } from '../../common/types';

export type Point = [number, number];

/** A rotated rectangle: `width` runs along `angle` (radians, in (-pi/2, pi/2]), `height` across it. */
export interface RotatedRect {
  cx: number;
  cy: number;
  width: number;
  height: number;
  angle: number;
}

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Andrew's monotone chain; counter-clockwise in a y-up frame, collinear points dropped. */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** Brings an angle into (-pi/2, pi/2]: a rectangle looks the same turned half a circle. */
function halfTurn(angle: number): number {
  let a = angle;
  while (a <= -Math.PI / 2) a += Math.PI;
  while (a > Math.PI / 2) a -= Math.PI;
  return a;
}

/**
 * The smallest-area rectangle holding the points: one of its sides lies on a
 * hull edge, so trying each edge's direction is enough. The rectangle's
 * `width` is its longer side, so a text line's reading direction is `angle`.
 */
export function minAreaRect(points: Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { cx: 0, cy: 0, width: 0, height: 0, angle: 0 };
  const dirs: number[] = hull.length < 2 ? [0] : hull.map((p, i) => {
    const q = hull[(i + 1) % hull.length];
    return Math.atan2(q[1] - p[1], q[0] - p[0]);
  });
  let best: RotatedRect | undefined;
  let bestArea = Infinity;
  for (const theta of dirs) {
    const ux = Math.cos(theta), uy = Math.sin(theta);
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const [x, y] of hull) {
      const u = x * ux + y * uy;
      const v = -x * uy + y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, width: maxU - minU, height: maxV - minV, angle: theta };
    }
  }
  const r = best as RotatedRect;
  return r.width >= r.height
    ? { ...r, angle: halfTurn(r.angle) }
    : { ...r, width: r.height, height: r.width, angle: halfTurn(r.angle + Math.PI / 2) };
}

/** Corners in order (top-left, top-right, bottom-right, bottom-left as seen along `angle`). */
export function rectCorners(r: RotatedRect): Point[] {
  const ux = Math.cos(r.angle), uy = Math.sin(r.angle);
  const hw = r.width / 2, hh = r.height / 2;
  return [
    [r.cx - ux * hw + uy * hh, r.cy - uy * hw - ux * hh],
    [r.cx + ux * hw + uy * hh, r.cy + uy * hw - ux * hh],
    [r.cx + ux * hw - uy * hh, r.cy + uy * hw + ux * hh],
    [r.cx - ux * hw - uy * hh, r.cy - uy * hw + ux * hh],
  ];
}

/**
 * DBNet's unclip: the network predicts text regions shrunk by a margin, and
 * the region is pushed back out by D = area * ratio / perimeter. For a
 * rectangle, offsetting with round joins and taking the minimum-area
 * rectangle again (what the reference does with pyclipper) is exactly the
 * rectangle grown by D on every side.
 */
export function unclip(r: RotatedRect, ratio: number): RotatedRect {
  const perimeter = 2 * (r.width + r.height);
  if (perimeter <= 0) return r;
  const d = (r.width * r.height * ratio) / perimeter;
  return { ...r, width: r.width + 2 * d, height: r.height + 2 * d };
}

/**
 * Fills a convex polygon into a mask: pixels whose centres lie inside, clipped
 * to the image. Null when no pixel centre is inside.
 */
export function fillConvex(poly: Point[], imageWidth: number, imageHeight: number): BoxMask | null {
  let minY = Infinity, maxY = -Infinity, minX = Infinity, maxX = -Infinity;
  for (const [x, y] of poly) {
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
  }
  const y0 = Math.max(0, Math.ceil(minY - 0.5));
  const y1 = Math.min(imageHeight - 1, Math.floor(maxY - 0.5));
  const x0 = Math.max(0, Math.ceil(minX - 0.5));
  const x1 = Math.min(imageWidth - 1, Math.floor(maxX - 0.5));
  if (y1 < y0 || x1 < x0) return null;
  const width = x1 - x0 + 1, height = y1 - y0 + 1;
  const data = new Uint8Array(width * height);
  let filled = false;
  for (let y = y0; y <= y1; y++) {
    // The row through the pixel centres meets a convex polygon in one interval.
    const cy = y + 0.5;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < poly.length; i++) {
      const [ax, ay] = poly[i];
      const [bx, by] = poly[(i + 1) % poly.length];
      if ((ay <= cy && by >= cy) || (by <= cy && ay >= cy)) {
        if (ay === by) {
          lo = Math.min(lo, ax, bx);
          hi = Math.max(hi, ax, bx);
        } else {
          const x = ax + ((cy - ay) / (by - ay)) * (bx - ax);
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
      }
    }
    const from = Math.max(x0, Math.ceil(lo - 0.5));
    const to = Math.min(x1, Math.floor(hi - 0.5));
    if (to < from) continue;
    data.fill(1, (y - y0) * width + (from - x0), (y - y0) * width + (to - x0) + 1);
    filled = true;
  }
  return filled ? { x: x0, y: y0, width, height, data } : null;
}

/**
 * Outline points of a mask's set pixels: both ends of each row, as pixel
 * corners, which is all a convex hull needs (interior pixels never matter).
 */
export function rowEndCorners(m: BoxMask): Point[] {
  const pts: Point[] = [];
  for (let y = 0; y < m.height; y++) {
    const row = y * m.width;
    let first = -1, last = -1;
    for (let x = 0; x < m.width; x++) {
      if (m.data[row + x]) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    const gx = m.x + first, gy = m.y + y, ex = m.x + last + 1;
    pts.push([gx, gy], [gx, gy + 1], [ex, gy], [ex, gy + 1]);
  }
  return pts;
}
