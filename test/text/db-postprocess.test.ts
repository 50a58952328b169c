import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectedComponents } from '../../src/engine/text/components';
import { dbLines, DEFAULT_DB_PARAMS } from '../../src/engine/text/db-postprocess';
import { joinLines, sameLine } from '../../src/engine/text/line-join';

function map(w: number, h: number, blobs: Array<[number, number, number, number, number]>): Float32Array {
  const prob = new Float32Array(w * h).fill(0.02);
  for (const [x, y, bw, bh, p] of blobs) {
    for (let j = y; j < y + bh; j++) for (let i = x; i < x + bw; i++) prob[j * w + i] = p;
  }
  return prob;
}

test('connected regions are 8-connected and capped', () => {
  const bitmap = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1]); // 4 x 3
  const all = connectedComponents(bitmap, 4, 3, 10);
  assert.deepEqual(all.map((c) => c.pixels), [3, 2], 'the diagonal is one region');
  assert.equal(connectedComponents(bitmap, 4, 3, 1).length, 1);
});

test('lines: threshold, box score, min size, unclip', () => {
  const w = 200, h = 100;
  const prob = map(w, h, [
    [10, 10, 120, 8, 0.9], // a line
    [10, 40, 60, 6, 0.7], // another
    [150, 60, 20, 10, 0.35], // above the bitmap threshold, below the box threshold
    [180, 10, 2, 2, 0.95], // too small to be text
  ]);
  const lines = dbLines(prob, w, h, DEFAULT_DB_PARAMS, 0.5);
  assert.equal(lines.length, 2);
  const [a, b] = lines;
  assert.ok(Math.abs(a.score - 0.9) < 1e-6 && Math.abs(b.score - 0.7) < 1e-6);
  // 120 x 8 region, unclip ratio 2: grown by 2 * 960 * 2 / 256 = 15 px in each direction.
  assert.ok(Math.abs(a.rect.width - 135) < 1e-6 && Math.abs(a.rect.height - 23) < 1e-6, `${a.rect.width} x ${a.rect.height}`);
  assert.ok(Math.abs(a.rect.cx - 70) < 1e-6 && Math.abs(a.rect.cy - 14) < 1e-6);
  assert.equal(dbLines(prob, w, h, DEFAULT_DB_PARAMS, 0.3).length, 3, 'a lower threshold keeps the weak one');
});

test('words of one line are joined; lines above each other are not', () => {
  const word = (cx: number, cy: number, width: number) => ({ rect: { cx, cy, width, height: 30, angle: 0 }, score: 0.8 });
  const joined = joinLines([word(100, 50, 120), word(200, 52, 50), word(100, 100, 120), word(400, 50, 80)]);
  assert.equal(joined.length, 3, 'the far word and the next line stay apart');
  const line = joined.find((l) => l.rect.width > 170);
  assert.ok(line, JSON.stringify(joined));
  assert.ok(Math.abs(line.rect.width - 185) < 1, `joined width ${line.rect.width}`);
  assert.ok(Math.abs(line.score - 0.8) < 1e-9);
});

test('pieces at different angles or heights are different lines', () => {
  const a = { cx: 100, cy: 50, width: 120, height: 30, angle: 0 };
  assert.ok(sameLine(a, { cx: 190, cy: 50, width: 40, height: 28, angle: 0 }));
  assert.equal(sameLine(a, { cx: 220, cy: 50, width: 120, height: 30, angle: 0.5 }), false);
  assert.equal(sameLine(a, { cx: 190, cy: 50, width: 40, height: 12, angle: 0 }), false);
});

test('passes that saw the same line give one line; a smaller line just below stays apart', () => {
  const whole = { rect: { cx: 300, cy: 100, width: 500, height: 60, angle: 0.01 }, score: 0.8 };
  const tilePiece = { rect: { cx: 220, cy: 101, width: 330, height: 58, angle: 0 }, score: 0.9 };
  const below = { rect: { cx: 260, cy: 140, width: 380, height: 24, angle: 0 }, score: 0.85 };
  const joined = joinLines([whole, tilePiece, below]);
  assert.equal(joined.length, 2);
  assert.ok(joined.some((l) => l.rect.width >= 499.9 && l.rect.height < 70));
});
