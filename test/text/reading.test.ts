import assert from 'node:assert/strict';
import { test } from 'node:test';
import { characterList, ctcGreedy } from '../../src/engine/text/ctc';
import { cropLine } from '../../src/engine/text/rec-crop';
import { editDistance, normaliseReading, readingSimilarity } from '../../src/engine/text/similarity';

test('the character list is blank, the keys, then a space', () => {
  assert.deepEqual(characterList('a\nb\r\nc\n'), ['', 'a', 'b', 'c', ' ']);
  assert.deepEqual(characterList('a\nb'), ['', 'a', 'b', ' ']);
});

test('CTC greedy decoding collapses repeats and drops blanks', () => {
  const chars = ['', 'a', 'b'];
  // Steps: a a blank a b b -> "aab".
  const best = [1, 1, 0, 1, 2, 2];
  const probs = new Float32Array(best.length * 3);
  best.forEach((c, t) => {
    probs.fill(0.1, t * 3, t * 3 + 3);
    probs[t * 3 + c] = t === 4 ? 0.6 : 0.8;
  });
  const r = ctcGreedy(probs, 0, best.length, 3, chars);
  assert.equal(r.text, 'aab');
  assert.ok(Math.abs(r.confidence - (0.8 + 0.8 + 0.6) / 3) < 1e-6);
  assert.deepEqual(ctcGreedy(new Float32Array([0.9, 0.1]), 0, 1, 2, ['', 'x']), { text: '', confidence: 0 });
});

test('similarity: normalised edit distance, case and spacing ignored', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(normaliseReading(' Jane  DOE '), 'janedoe');
  assert.equal(readingSimilarity('Jane Doe', 'JANEDOE'), 1);
  assert.equal(readingSimilarity('Invoice 4711', ''), 0);
  assert.equal(readingSimilarity('', ''), 0);
  assert.ok(Math.abs(readingSimilarity('LICENCE AB 123', 'L1CENCE A8 12') - (1 - 3 / 12)) < 1e-9);
  assert.ok(readingSimilarity('Invoice 4711 Berlin', '生') < 0.1);
});

test('line crops read along the rectangle, turned as asked', () => {
  // 100 x 50: dark left half, bright right half.
  const w = 100, h = 50;
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 50; x < w; x++) rgb.fill(250, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const rect = { cx: 50, cy: 25, width: 100, height: 50, angle: 0 };
  const upright = cropLine(rgb, w, h, rect, 0, 48);
  assert.equal(upright.height, 48);
  assert.equal(upright.width, 96);
  const at = (c: { rgb: Uint8Array; width: number }, x: number, y: number): number => c.rgb[(y * c.width + x) * 3];
  assert.ok(at(upright, 5, 24) < 10 && at(upright, 90, 24) > 240);
  const turned = cropLine(rgb, w, h, rect, 2, 48);
  assert.ok(at(turned, 5, 24) > 240 && at(turned, 90, 24) < 10, 'half a turn reads right to left');
  const quarter = cropLine(rgb, w, h, rect, 1, 48);
  assert.equal(quarter.width, 24, 'a quarter turn reads across the rectangle');
});
