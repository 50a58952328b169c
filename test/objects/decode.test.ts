/**
 * The detector's head decoded as NanoDet lays it out, on tensors built with
 * exact geometry: a box comes out where its cell and distances put it, in
 * the image's pixels, for the whole image and for a tile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classesOf, COCO } from '../../src/engine/objects/classes';
import { growBox } from '../../src/common/boxes';
import { cellCount, decodePass, type DetectorLayout } from '../../src/engine/objects/decode';

const LAYOUT: DetectorLayout = { inputWidth: 64, inputHeight: 64, classes: 80, bins: 11, strides: [8, 16, 32] };

/** Tensors with one cell scoring `score` for `cls` and each side's distribution peaked at `sides` (in strides). */
function tensors(cell: number, cls: number, score: number, sides: [number, number, number, number]): { scores: Float32Array; distances: Float32Array } {
  const n = cellCount(LAYOUT);
  const scores = new Float32Array(n * LAYOUT.classes);
  const distances = new Float32Array(n * 4 * LAYOUT.bins);
  scores[cell * LAYOUT.classes + cls] = score;
  sides.forEach((d, k) => {
    // A sharp peak: the expectation is d within a hundredth.
    distances[(cell * 4 + k) * LAYOUT.bins + d] = 40;
  });
  return { scores, distances };
}

describe('decoding the person and vehicle detector', () => {
  test('cells count over the three levels', () => {
    assert.equal(cellCount(LAYOUT), 8 * 8 + 4 * 4 + 2 * 2);
    assert.equal(cellCount({ ...LAYOUT, inputWidth: 416, inputHeight: 416 }), 3549);
  });

  test('a box is its cell centre minus and plus its distances, scaled into the region', () => {
    // Level 1 (stride 16) starts after the 64 cells of stride 8; cell (row 1, col 2) of a 4 x 4 grid.
    const cell = 64 + 1 * 4 + 2;
    const { scores, distances } = tensors(cell, COCO.car, 0.8, [1, 1, 1, 0]);
    const found = decodePass(scores, distances, LAYOUT, { x: 0, y: 0, width: 128, height: 64 }, new Map([[COCO.car, 0.3]]));
    assert.equal(found.length, 1);
    // Centre (2.5, 1.5) x 16 = (40, 24); sides 16, 16, 16, 0 -> [24, 8, 56, 24] at input scale; x doubled.
    const box = found[0].box.map((v) => Math.round(v));
    assert.deepEqual(box, [48, 8, 112, 24]);
    assert.equal(found[0].cls, COCO.car);
  });

  test('a tile maps into the image; a box reaching an inner edge of a tile is left to its neighbours', () => {
    const cell = 0; // stride 8, (0, 0): centre (4, 4)
    const { scores, distances } = tensors(cell, COCO.person, 0.9, [0, 0, 2, 3]);
    const region = { x: 100, y: 50, width: 64, height: 64 };
    const inTile = decodePass(scores, distances, LAYOUT, region, new Map([[COCO.person, 0.3]]));
    assert.deepEqual(inTile[0].box.map((v) => Math.round(v)), [104, 54, 120, 78]);
    const cut = decodePass(scores, distances, LAYOUT, region, new Map([[COCO.person, 0.3]]), [false, false, false, false]);
    assert.equal(cut.length, 1, 'no inner edges: kept');
    const { scores: s2, distances: d2 } = tensors(cell, COCO.person, 0.9, [1, 1, 1, 1]);
    assert.equal(decodePass(s2, d2, LAYOUT, region, new Map([[COCO.person, 0.3]]), [true, false, false, false]).length, 0, 'touches the inner left edge: dropped');
  });

  test('below its class threshold, or of a class not asked for, nothing is found', () => {
    const { scores, distances } = tensors(5, COCO.truck, 0.25, [1, 1, 1, 1]);
    assert.equal(decodePass(scores, distances, LAYOUT, { x: 0, y: 0, width: 64, height: 64 }, new Map([[COCO.truck, 0.3]])).length, 0);
    assert.equal(decodePass(scores, distances, LAYOUT, { x: 0, y: 0, width: 64, height: 64 }, new Map([[COCO.car, 0.1]])).length, 0);
    assert.equal(decodePass(scores, distances, LAYOUT, { x: 0, y: 0, width: 64, height: 64 }, new Map([[COCO.truck, 0.2]])).length, 1);
  });

  test('boxes grow on every side and stay inside the image', () => {
    assert.deepEqual(growBox([10, 10, 110, 60], 0.05, 0.05, 1000, 1000), [5, 7, 115, 63]);
    assert.deepEqual(growBox([0, 0, 100, 100], 0.1, 0.1, 105, 100), [0, 0, 105, 100]);
  });

  test('phrases stand for the classes a user means, covering what the detector confuses', () => {
    assert.deepEqual([...classesOf('  People ')], [COCO.person]);
    assert.ok(classesOf('car').includes(COCO.truck), 'a pickup scored as a truck is still hidden as a car');
    assert.deepEqual([...classesOf('vehicles')].sort(), [COCO.car, COCO.motorcycle, COCO.bus, COCO.truck].sort());
    assert.deepEqual([...classesOf('plate')], []);
  });
});
