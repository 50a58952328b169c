import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAR, squaredDistance } from '../../src/redact/distance';
import { buildCover, distanceCover, growthFor, rectCover } from '../../src/redact/masks';
import { distanceTo, rng } from './helpers';

test('distance transform matches brute force on a random sparse mask', () => {
  const w = 37, h = 23;
  const r = rng(7);
  const seeds: [number, number][] = [];
  const grid = new Float32Array(w * h).fill(FAR);
  for (let i = 0; i < 12; i++) {
    const x = r() % w, y = r() % h;
    seeds.push([x, y]);
    grid[y * w + x] = 0;
  }
  squaredDistance(grid, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const want = Math.min(...seeds.map(([sx, sy]) => (sx - x) ** 2 + (sy - y) ** 2));
      assert.equal(grid[y * w + x], want, `at ${x},${y}`);
    }
  }
});

test('cover: full inside the grown mask, feather falls outward only, zero beyond', () => {
  const mask = { x: 20, y: 20, width: 1, height: 1, data: new Uint8Array([1]) };
  const grow = 3, feather = 4;
  const c = buildCover(mask, grow, feather, 50, 50);
  let last = 255;
  for (let x = 20; x < c.x + c.width; x++) {
    const a = c.alpha[(20 - c.y) * c.width + (x - c.x)];
    const d = x - 20;
    if (d <= grow) assert.equal(a, 255, `d=${d}`);
    else if (d >= grow + feather) assert.equal(a, 0, `d=${d}`);
    else assert.ok(a > 0 && a < 255 && a <= last, `d=${d} alpha=${a}`);
    last = a;
  }
  // The disc is round: a diagonal neighbour at distance 2.83 is inside, (3,1) at 3.16 is not full.
  assert.equal(c.alpha[(22 - c.y) * c.width + (22 - c.x)], 255);
  assert.ok(c.alpha[(21 - c.y) * c.width + (23 - c.x)] < 255);
  assert.equal(c.full, 29); // lattice points within radius 3
});

test('cover of an ellipse agrees with brute-force distances and is clipped to the image', () => {
  const data = new Uint8Array(30 * 20);
  for (let j = 0; j < 20; j++) for (let i = 0; i < 30; i++) data[j * 30 + i] = ((i - 15) / 15) ** 2 + ((j - 10) / 10) ** 2 <= 1 ? 1 : 0;
  // The ellipse pokes 5 px out of the left edge; only its visible part is a mask.
  const clipped = { x: 0, y: 2, width: 25, height: 20, data: new Uint8Array(25 * 20) };
  for (let j = 0; j < 20; j++) for (let i = 0; i < 25; i++) clipped.data[j * 25 + i] = data[j * 30 + i + 5];
  const c = buildCover(clipped, 2.5, 3, 40, 30);
  assert.equal(c.x + 0, 0);
  for (let y = c.y; y < c.y + c.height; y++) {
    for (let x: number = c.x; x < c.x + c.width; x++) {
      const d = distanceTo(clipped, x, y, 10);
      const a = c.alpha[(y - c.y) * c.width + (x - c.x)];
      if (d <= 2.5) assert.equal(a, 255);
      else if (d >= 5.5) assert.equal(a, 0);
    }
  }
});

test('growth: percent of the shorter box side, at least the minimum, plus extra', () => {
  assert.equal(growthFor([0, 0, 200, 100], 4, 3, 0), 4);
  assert.equal(growthFor([0, 0, 20, 10], 4, 3, 0), 3);
  assert.equal(growthFor([0, 0, 200, 100], 10, 3, 5), 15);
});

test('a solid rectangle gets exactly the cover the distance transform gives it, clipped or not', () => {
  const r = rng(11);
  for (let n = 0; n < 40; n++) {
    const width = 1 + (r() % 60), height = 1 + (r() % 40);
    const mask = { x: (r() % 90) - 10, y: (r() % 70) - 10, width, height, data: new Uint8Array(width * height).fill(1) };
    // Masks are inside the image: clip this one as a caller would.
    const x0 = Math.max(0, mask.x), y0 = Math.max(0, mask.y), x1 = Math.min(80, mask.x + width), y1 = Math.min(60, mask.y + height);
    if (x1 <= x0 || y1 <= y0) continue;
    const clipped = { x: x0, y: y0, width: x1 - x0, height: y1 - y0, data: new Uint8Array((x1 - x0) * (y1 - y0)).fill(1) };
    // Every fifth without growth or feather: the mask itself, hard-edged.
    const grow = n % 5 === 0 ? 0 : (r() % 200) / 10, feather = n % 5 === 0 ? 0 : (r() % 120) / 10;
    assert.deepEqual(rectCover(clipped, grow, feather, 80, 60), distanceCover(clipped, grow, feather, 80, 60), `mask ${JSON.stringify({ ...clipped, data: undefined })} grow ${grow} feather ${feather}`);
  }
});
