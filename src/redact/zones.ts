/**
 * Fixed privacy zones: polygons in coordinates relative to the upright image
 * (0..1 on each axis), hidden in every image and frame whatever any detector
 * found. Relative, so one zone fits every size of the same view.
 */
import type { BoxMask } from '../common/types';
import { CodedError } from '../common/coded-error';

export interface PrivacyZone {
  /** Shown in msg.redaction and the audit. */
  name?: string;
  /** At least three [x, y] corners, each in 0..1 of the upright width and height. */
  points: Array<[number, number]>;
}

/** The label zones are recorded under (msg.redaction.perLabel, the audit). */
export const ZONE_LABEL = 'zone';

const MAX_ZONES = 64;
const MAX_POINTS = 256;

function invalid(what: string): CodedError {
  return new CodedError('ZONES_INVALID', `privacy zones: ${what}`);
}

/** Checks zones from a node's settings or msg.zones; the error says which zone and what is wrong. */
export function validateZones(value: unknown): PrivacyZone[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('expected an array of { name, points: [[x, y], ...] }');
  if (value.length > MAX_ZONES) throw invalid(`at most ${MAX_ZONES} zones, got ${value.length}`);
  return value.map((z: unknown, i) => {
    const where = `zone ${i + 1}`;
    if (!z || typeof z !== 'object') throw invalid(`${where} is not an object`);
    const { name, points } = z as { name?: unknown; points?: unknown };
    if (name !== undefined && typeof name !== 'string') throw invalid(`${where}: name must be a string`);
    if (!Array.isArray(points) || points.length < 3 || points.length > MAX_POINTS) throw invalid(`${where}: needs 3 to ${MAX_POINTS} points, got ${Array.isArray(points) ? points.length : 'none'}`);
    const corners = points.map((p: unknown, j): [number, number] => {
      const ok = Array.isArray(p) && p.length === 2 && p.every((c) => typeof c === 'number' && Number.isFinite(c) && c >= 0 && c <= 1);
      if (!ok) throw invalid(`${where}, point ${j + 1}: expected [x, y] with both in 0..1 (relative to the image), got ${JSON.stringify(p)}`);
      return [p[0] as number, p[1] as number];
    });
    return { ...(name ? { name: name.slice(0, 200) } : {}), points: corners };
  });
}

/**
 * The zone as a mask over `width` x `height` pixels: every pixel the polygon
 * touches at all (a pixel half inside is hidden, not left). Even-odd fill, so
 * a polygon drawn crossing itself still covers each part it encloses.
 */
export function zoneMask(zone: PrivacyZone, width: number, height: number): BoxMask | null {
  const pts = zone.points.map(([x, y]) => [x * width, y * height] as const);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const x1 = Math.min(width, Math.ceil(Math.max(...xs)));
  const y1 = Math.min(height, Math.ceil(Math.max(...ys)));
  if (x1 <= x0 || y1 <= y0) return null;
  const w = x1 - x0;
  const h = y1 - y0;
  const data = new Uint8Array(w * h);
  // Spans at the top, middle and bottom of each pixel row, so thin slivers of a row are not missed.
  for (let row = 0; row < h; row++) {
    for (const dy of [0.001, 0.5, 0.999]) {
      const sy = y0 + row + dy;
      const crossings: number[] = [];
      for (let i = 0; i < pts.length; i++) {
        const [ax, ay] = pts[i];
        const [bx, by] = pts[(i + 1) % pts.length];
        if (ay <= sy === by <= sy) continue;
        crossings.push(ax + ((sy - ay) / (by - ay)) * (bx - ax));
      }
      crossings.sort((a, b) => a - b);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        const from = Math.max(x0, Math.floor(crossings[k]));
        const to = Math.min(x1, Math.ceil(crossings[k + 1]));
        for (let x = from; x < to; x++) data[row * w + (x - x0)] = 1;
      }
    }
  }
  // Edges are drawn too: a zone narrower than a pixel row's samples still covers its outline.
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[i];
    const [bx, by] = pts[(i + 1) % pts.length];
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) * 2));
    for (let s = 0; s <= steps; s++) {
      const px = Math.min(x1 - 1, Math.max(x0, Math.floor(ax + ((bx - ax) * s) / steps)));
      const py = Math.min(y1 - 1, Math.max(y0, Math.floor(ay + ((by - ay) * s) / steps)));
      data[(py - y0) * w + (px - x0)] = 1;
    }
  }
  return { x: x0, y: y0, width: w, height: h, data };
}
