import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convexHull, fillConvex, minAreaRect, rectCorners, rowEndCorners, unclip, type Point } from '../../src/engine/text/geometry';

const close = (a: number, b: number, eps = 1e-6): boolean => Math.abs(a - b) <= eps;

test('convex hull drops interior and collinear points', () => {
  const pts: Point[] = [[0, 0], [4, 0], [2, 0], [4, 3], [0, 3], [2, 1], [1, 2]];
  assert.deepEqual(new Set(convexHull(pts).map((p) => p.join())), new Set(['0,0', '4,0', '4,3', '0,3']));
});

test('minAreaRect recovers a rotated rectangle, longer side along its angle', () => {
  for (const deg of [0, 30, -20, 75, 90]) {
    const r = { cx: 200, cy: 120, width: 160, height: 40, angle: (deg * Math.PI) / 180 };
    const found = minAreaRect(rectCorners(r));
    assert.ok(close(found.width, 160, 1e-6) && close(found.height, 40, 1e-6), `${deg}: ${found.width} x ${found.height}`);
    assert.ok(close(found.cx, 200, 1e-6) && close(found.cy, 120, 1e-6));
    assert.ok(found.angle > -Math.PI / 2 && found.angle <= Math.PI / 2);
    const want = deg === 90 ? Math.PI / 2 : (deg * Math.PI) / 180;
    assert.ok(close(found.angle, want, 1e-9), `${deg}: angle ${found.angle}`);
  }
});

test('a tall rectangle is turned so that width is the longer side', () => {
  const found = minAreaRect([[0, 0], [10, 0], [10, 50], [0, 50]]);
  assert.equal(found.width, 50);
  assert.equal(found.height, 10);
  assert.ok(close(Math.abs(found.angle), Math.PI / 2));
});

test('unclip grows every side by area * ratio / perimeter', () => {
  const grown = unclip({ cx: 0, cy: 0, width: 100, height: 10, angle: 0.3 }, 2);
  const d = (100 * 10 * 2) / 220;
  assert.ok(close(grown.width, 100 + 2 * d) && close(grown.height, 10 + 2 * d));
  assert.equal(grown.angle, 0.3);
});

test('fillConvex sets the pixels whose centres are inside, clipped to the image', () => {
  const m = fillConvex([[10, 20], [30, 20], [30, 25], [10, 25]], 100, 100);
  assert.ok(m);
  assert.deepEqual([m.x, m.y, m.width, m.height], [10, 20, 20, 5]);
  assert.equal(m.data.reduce((s, v) => s + v, 0), 100);
  const clipped = fillConvex([[-5, -5], [5, -5], [5, 5], [-5, 5]], 100, 100);
  assert.deepEqual(clipped && [clipped.x, clipped.y, clipped.width, clipped.height], [0, 0, 5, 5]);
  assert.equal(fillConvex([[200, 200], [210, 200], [210, 210]], 100, 100), null);
  // A diamond: rows get narrower towards the tips.
  const d = fillConvex([[50, 40], [60, 50], [50, 60], [40, 50]], 100, 100);
  assert.ok(d);
  const rowCount = (y: number): number => d.data.subarray((y - d.y) * d.width, (y - d.y + 1) * d.width).reduce((s, v) => s + v, 0);
  assert.ok(rowCount(49) > rowCount(42));
});

test('rowEndCorners outline a mask with pixel corners', () => {
  const data = Uint8Array.from([0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
  const pts = rowEndCorners({ x: 10, y: 5, width: 4, height: 3, data });
  assert.deepEqual(pts, [[11, 5], [11, 6], [13, 5], [13, 6], [10, 6], [10, 7], [14, 6], [14, 7]]);
});
