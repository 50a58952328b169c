/**
 * Fixed privacy zones: the polygon a user draws, in coordinates relative to
 * the image, hidden whatever was found, at any size of the same view. Exact
 * geometry is the point here, so the images are generated.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactImage, validateZones, zoneMask, type PrivacyZone } from '../../src/redact';
import type { RawFrame } from '../../src/common/types';
import { pattern } from './helpers';

/** Whether pixel (x, y)'s centre is inside the polygon (even-odd), in pixels. */
function inside(zone: PrivacyZone, width: number, height: number, x: number, y: number): boolean {
  const px = x + 0.5, py = y + 0.5;
  let odd = false;
  const pts = zone.points.map(([a, b]) => [a * width, b * height]);
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}

/** Distance from a pixel's centre to the polygon's outline, in pixels. */
function toOutline(zone: PrivacyZone, width: number, height: number, x: number, y: number): number {
  const px = x + 0.5, py = y + 0.5;
  const pts = zone.points.map(([a, b]) => [a * width, b * height]);
  let best = Infinity;
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[i];
    const [bx, by] = pts[(i + 1) % pts.length];
    const t = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    best = Math.min(best, Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay))));
  }
  return best;
}

const TRIANGLE: PrivacyZone = { name: 'window', points: [[0.1, 0.1], [0.8, 0.3], [0.3, 0.9]] };

describe('privacy zones', () => {
  test('the mask holds every pixel inside the polygon and nothing more than a pixel outside it, at any size', () => {
    for (const [width, height] of [[120, 80], [480, 320], [333, 97]]) {
      const m = zoneMask(TRIANGLE, width, height);
      assert.ok(m, 'a mask');
      const at = (x: number, y: number): number => (x >= m.x && x < m.x + m.width && y >= m.y && y < m.y + m.height ? m.data[(y - m.y) * m.width + (x - m.x)] : 0);
      let missed = 0, extra = 0, covered = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const on = at(x, y) === 1;
          if (on) covered++;
          if (inside(TRIANGLE, width, height, x, y) && !on) missed++;
          if (on && !inside(TRIANGLE, width, height, x, y) && toOutline(TRIANGLE, width, height, x, y) > 1.5) extra++;
        }
      }
      assert.equal(missed, 0, `${width}x${height}: no pixel inside is left out`);
      assert.equal(extra, 0, `${width}x${height}: nothing beyond the outline`);
      // Relative: the same share of every size (the triangle is 0.26 of the image).
      assert.ok(Math.abs(covered / (width * height) - 0.26) < 0.03, `${width}x${height}: ${(covered / (width * height)).toFixed(3)} of the image`);
    }
  });

  test('a zone is hidden whatever the detections and filters are; the summary names it', async () => {
    const src = pattern(200, 120);
    const frame: RawFrame = { data: Buffer.from(src.data), width: 200, height: 120, channels: 3 };
    const zones: PrivacyZone[] = [TRIANGLE, { points: [[0.9, 0.8], [1, 0.8], [1, 1], [0.9, 1]] }];
    const result = await redactImage(frame, [], { mode: 'fill', fillColor: '#00ff00', labels: ['face'], minScore: 0.99, zones });
    const out = (result.image as RawFrame).data;
    const grown = 3 + 4; // minimum growth and the soft edge
    for (let y = 0; y < 120; y++) {
      for (let x = 0; x < 200; x++) {
        const p = (y * 200 + x) * 3;
        const isFill = out[p] === 0 && out[p + 1] === 255 && out[p + 2] === 0;
        const inAny = zones.some((z) => inside(z, 200, 120, x, y));
        if (inAny) assert.ok(isFill, `pixel ${x},${y} inside a zone is filled`);
        const far = zones.every((z) => !inside(z, 200, 120, x, y) && toOutline(z, 200, 120, x, y) > grown + 1.5);
        if (far) assert.deepEqual([...out.subarray(p, p + 3)], [...src.data.subarray(p, p + 3)], `pixel ${x},${y} far from the zones is untouched`);
      }
    }
    assert.equal(result.summary.perLabel.zone.instances, 2);
    assert.equal(result.summary.zones?.[0].name, 'window');
    assert.ok(result.summary.zones?.every((z) => z.pixels > 0));
  });

  test('zones that are not polygons inside the image are refused with where and why', () => {
    assert.throws(() => validateZones([{ points: [[0, 0], [1, 0]] }]), /zone 1: needs 3 to 256 points, got 2/);
    assert.throws(() => validateZones([TRIANGLE, { points: [[0, 0], [1.5, 0], [0, 1]] }]), /zone 2, point 2: expected \[x, y\] with both in 0\.\.1/);
    assert.throws(() => validateZones({ points: [] }), /expected an array/);
    assert.deepEqual(validateZones(undefined), []);
  });
});
