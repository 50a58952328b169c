import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxMaskToRle, boxRle, decodeCounts, encodeCounts, rleArea, rleToBoxMask } from '../../src/common/rle';

test('RLE strings match what pycocotools writes', () => {
  // pycocotools.mask.encode of a 2x2 all-ones mask is b'04'; of a 3x3 with only the centre set, b'414'.
  assert.equal(boxMaskToRle({ x: 0, y: 0, width: 2, height: 2, data: Uint8Array.from([1, 1, 1, 1]) }, 2, 2).counts, '04');
  assert.equal(boxMaskToRle({ x: 1, y: 1, width: 1, height: 1, data: Uint8Array.from([1]) }, 3, 3).counts, '414');
});

test('RLE round-trips large runs and deltas of both signs', () => {
  const counts = [0, 5, 100000, 3, 7, 250000, 1, 2];
  assert.deepEqual(decodeCounts(encodeCounts(counts)), counts);
});

test('a box mask comes back where it was, in column-major runs', () => {
  const data = Uint8Array.from([1, 0, 1, 1, 1, 0]); // 3 wide, 2 high
  const rle = boxMaskToRle({ x: 4, y: 2, width: 3, height: 2, data }, 10, 6);
  assert.deepEqual(rle.size, [6, 10]);
  assert.equal(rleArea(rle), 4);
  const back = rleToBoxMask(rle);
  assert.deepEqual(back, { x: 4, y: 2, width: 3, height: 2, data });
});

test('random masks, solid boxes and masks reaching past the image round-trip pixel for pixel', () => {
  let seed = 5;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const W = 37, H = 23;
  for (let n = 0; n < 60; n++) {
    const width = 1 + rand(30), height = 1 + rand(20);
    const solid = n % 3 === 0;
    const m = { x: rand(W + 10) - 8, y: rand(H + 10) - 8, width, height, data: Uint8Array.from({ length: width * height }, () => (solid || rand(3) > 0 ? 1 : 0)) };
    // What should come back: the mask's pixels that lie inside the image.
    const want = new Uint8Array(W * H);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (m.data[y * width + x] && x + m.x >= 0 && x + m.x < W && y + m.y >= 0 && y + m.y < H) want[(y + m.y) * W + x + m.x] = 1;
    const rle = boxMaskToRle(m, W, H);
    assert.equal(rleArea(rle), want.reduce((a, b) => a + b, 0));
    const back = rleToBoxMask(rle);
    const got = new Uint8Array(W * H);
    if (back) for (let y = 0; y < back.height; y++) for (let x = 0; x < back.width; x++) if (back.data[y * back.width + x]) got[(y + back.y) * W + x + back.x] = 1;
    assert.deepEqual(got, want, `mask ${n}`);
  }
});

test('a solid box written from its corners is the RLE of its mask of ones, full height and whole frame included', () => {
  const W = 31, H = 17;
  const boxes: Array<[number, number, number, number]> = [[0, 0, W, H], [3, 0, 9, H], [0, 4, 1, 5], [30, 16, 31, 17], [5, 2, 20, 11]];
  for (const [x0, y0, x1, y1] of boxes) {
    const solid = { x: x0, y: y0, width: x1 - x0, height: y1 - y0, data: new Uint8Array((x1 - x0) * (y1 - y0)).fill(1) };
    assert.deepEqual(boxRle([x0, y0, x1, y1], W, H), boxMaskToRle(solid, W, H), `box ${[x0, y0, x1, y1]}`);
  }
});

test('malformed RLE is refused', () => {
  assert.throws(() => rleArea({ size: [2, 2], counts: '05' }), /covers 5 pixels/);
  assert.throws(() => rleArea({ size: [2, 2], counts: '0\u00ff' }), /invalid character/);
  assert.throws(() => rleArea({ size: [0, 2], counts: '' } as never), /positive integers/);
});
