import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateInstances } from '../../src/redact';
import { instance, rectMask } from './helpers';

const W = 64, H = 48;
const good = (): Record<string, unknown> => ({ ...instance(rectMask(5, 5, 10, 10), W, H) });

test('valid detections come back as clean copies', () => {
  const raw = { ...good(), extra: 'dropped', carried: true };
  const [out] = validateInstances([raw], W, H);
  assert.deepEqual(Object.keys(out).sort(), ['box', 'carried', 'label', 'mask', 'score']);
  assert.notEqual(out, raw);
  assert.deepEqual(validateInstances([], W, H), []);
});

test('malformed detections throw an error naming the instance and the problem', () => {
  const cases: [unknown, RegExp][] = [
    [{ not: 'an array' }, /instances must be an array/],
    [[null], /instances\[0\] must be an object/],
    [[{ ...good(), label: 3 }], /instances\[0\]\.label must be a string/],
    [[{ ...good(), score: Number.NaN }], /score must be a finite number/],
    [[good(), { ...good(), mask: undefined }], /instances\[1\] has no mask/],
    [[{ ...good(), mask: { size: [H, W] } }], /mask must be COCO RLE/],
    [[{ ...good(), mask: { size: [W, H], counts: '' } }], /mask\.size is \[64, 48\] but the upright image is 64x48/],
    [[{ ...good(), mask: { size: [H, W], counts: '5' } }], /instances\[0\]\.mask: mask RLE covers 5 pixels/],
    [[{ ...good(), mask: { size: [H, W], counts: '\u00ff' } }], /invalid character/],
    [[{ ...good(), box: [1, 2, 3] }], /box must be \[x1, y1, x2, y2\]/],
    [[{ ...good(), box: [10, 10, 5, 20] }], /x2 < x1/],
    [[{ ...good(), box: [0, 0, Infinity, 5] }], /four finite numbers/],
    [[{ ...good(), box: [100, 10, 120, 20] }], /outside the 64x48 upright image/],
    [[{ ...good(), carried: 'yes' }], /carried must be a boolean/],
  ];
  for (const [value, message] of cases) assert.throws(() => validateInstances(value, W, H), message);
});

test('boxes slightly outside the image (model rounding) are accepted', () => {
  const inst = { ...good(), box: [-1.5, -0.2, 64.7, 48.3] };
  assert.equal(validateInstances([inst], W, H).length, 1);
});
