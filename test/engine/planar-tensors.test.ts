/**
 * The detectors' input tensors: a tile read straight out of the image it
 * lies in must hold exactly what normalising a copy of that tile would, in
 * the channel order the model was trained on, also when a run's passes
 * share one buffer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlanarTensors } from '../../src/engine/host/detector-session';

/** A reference: (x - mean) / std of the tile's bytes, plane by plane, with plain arithmetic; mean and std in the tensor's channel order. */
function expected(rgb: Uint8Array, stride: number, x: number, y: number, w: number, h: number, mean: number[], std: number[], order: number[]): Float32Array {
  const out = new Float32Array(w * h * 3);
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < h; r++) for (let k = 0; k < w; k++) out[c * w * h + r * w + k] = (rgb[((y + r) * stride + x + k) * 3 + order[c]] - mean[c]) / std[c];
  }
  return out;
}

describe('detector input tensors', () => {
  const W = 37, H = 23;
  const image = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 97 + (i >> 3)) & 255);
  const mean = [123, 117, 104];
  const std = [58, 57, 57.5];

  test('a tile read out of its image, RGB and BGR, equals the tile normalised on its own', () => {
    for (const [order, idx] of [['rgb', [0, 1, 2]], ['bgr', [2, 1, 0]]] as const) {
      const t = new PlanarTensors(8, 5, mean, std, order);
      const tensor = t.tensor(image, W, 11, 7);
      assert.deepEqual(tensor.dims, [1, 3, 5, 8]);
      const got = tensor.data as Float32Array;
      const want = expected(image, W, 11, 7, 8, 5, mean, std, [...idx]);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `${order} [${i}]: ${got[i]} against ${want[i]}`);
    }
  });

  test('passes that share a buffer each get their own tile', () => {
    const t = new PlanarTensors(8, 5, mean, std, 'rgb');
    const first = t.tensor(image, W, 0, 0);
    const firstData = Float32Array.from(first.data as Float32Array);
    const second = t.tensor(image, W, 29, 18, true);
    assert.equal(second.data, first.data, 'one buffer');
    assert.notDeepEqual(Float32Array.from(second.data as Float32Array), firstData);
    const want = expected(image, W, 29, 18, 8, 5, mean, std, [0, 1, 2]);
    (second.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `[${i}]`));
    // Without reuse a tensor has a buffer of its own.
    assert.notEqual(t.tensor(image, W, 1, 1).data, second.data);
  });
});
