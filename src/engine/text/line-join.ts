/**
 * Joins the words of one line into one instance. DBNet splits a line where
 * the gap between words is wide (monospace, justified text, spaced-out
 * plates); one rectangle per line also hides how long each word is, which a
 * row of word-sized patches would give away.
 */
import { minAreaRect, rectCorners, type Point, type RotatedRect } from './geometry';
import type { TextLine } from './db-postprocess';

export interface JoinParams {
  /** Largest gap between two pieces, in line heights. */
  maxGap: number;
  /** Pieces must overlap across the line by this share of the lower one. */
  minOverlap: number;
  /** Shorter piece height over taller one, at least. */
  minHeightRatio: number;
  /** Elongated pieces must run within this angle of each other (radians). */
  maxAngle: number;
}

export const DEFAULT_JOIN: JoinParams = { maxGap: 0.8, minOverlap: 0.6, minHeightRatio: 0.6, maxAngle: (10 * Math.PI) / 180 };

function extent(corners: Point[], ux: number, uy: number): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const [x, y] of corners) {
    const d = x * ux + y * uy;
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  return [lo, hi];
}

const elongated = (r: RotatedRect): boolean => r.width > 1.5 * r.height;

function angleBetween(a: number, b: number): number {
  const d = Math.abs(a - b) % Math.PI;
  return Math.min(d, Math.PI - d);
}

/** Whether b continues a's line: aligned across it, of a similar height, close along it. */
export function sameLine(a: RotatedRect, b: RotatedRect, p: JoinParams = DEFAULT_JOIN): boolean {
  if (elongated(a) && elongated(b) && angleBetween(a.angle, b.angle) > p.maxAngle) return false;
  // The longer piece sets the direction: a short piece (one word, a number) has no reliable one.
  const ref = a.width >= b.width ? a : b;
  const ux = Math.cos(ref.angle), uy = Math.sin(ref.angle);
  const ca = rectCorners(a), cb = rectCorners(b);
  const [au0, au1] = extent(ca, ux, uy), [bu0, bu1] = extent(cb, ux, uy);
  const [av0, av1] = extent(ca, -uy, ux), [bv0, bv1] = extent(cb, -uy, ux);
  const ha = av1 - av0, hb = bv1 - bv0;
  if (Math.min(ha, hb) < p.minHeightRatio * Math.max(ha, hb)) return false;
  const overlap = Math.min(av1, bv1) - Math.max(av0, bv0);
  if (overlap < p.minOverlap * Math.min(ha, hb)) return false;
  const gap = Math.max(bu0 - au1, au0 - bu1);
  return gap <= p.maxGap * Math.max(ha, hb);
}

/** Groups pieces that continue each other's line (transitively) into one rectangle each. */
export function joinLines(lines: TextLine[], p: JoinParams = DEFAULT_JOIN): TextLine[] {
  if (lines.length < 2) return lines;
  const parent = lines.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  // Axis-aligned bounds grown by the largest gap allowed: most pairs fail this cheap test.
  const reach = lines.map(({ rect }) => {
    const [lo, hi] = [extent(rectCorners(rect), 1, 0), extent(rectCorners(rect), 0, 1)];
    const g = p.maxGap * rect.height;
    return [lo[0] - g, hi[0] - g, lo[1] + g, hi[1] + g];
  });
  const near = (a: number[], b: number[]): boolean => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      if (near(reach[i], reach[j]) && find(i) !== find(j) && sameLine(lines[i].rect, lines[j].rect, p)) parent[find(j)] = find(i);
    }
  }
  const groups = new Map<number, TextLine[]>();
  lines.forEach((l, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), l]);
  });
  return [...groups.values()].map((group) => {
    if (group.length === 1) return group[0];
    const area = (l: TextLine): number => l.rect.width * l.rect.height;
    const total = group.reduce((s, l) => s + area(l), 0);
    return {
      rect: minAreaRect(group.flatMap((l) => rectCorners(l.rect))),
      // Mean probability over the pieces, each weighted by its size.
      score: group.reduce((s, l) => s + l.score * area(l), 0) / total,
    };
  });
}
