/** Which text lines count as plates, on boxes with exact geometry. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Box } from '../../src/common/types';
import { onVehicle, plateBox, plateShaped, readsLikePlate } from '../../src/engine/plates/rules';

const CAR: Box = [100, 100, 500, 400];

describe('plate rules', () => {
  test('a line on the lower part of a vehicle, or just below it, is on it; an advert higher up is not', () => {
    assert.ok(onVehicle([260, 300, 340, 330], [CAR]), 'the bumper');
    assert.ok(onVehicle([260, 395, 340, 425], [CAR]), 'just below the box');
    assert.ok(!onVehicle([200, 150, 400, 200], [CAR]), 'the rear window');
    assert.ok(!onVehicle([260, 480, 340, 510], [CAR]), 'far below');
    assert.ok(!onVehicle([110, 300, 490, 330], [CAR]), 'wider than a plate on this vehicle');
    assert.ok(!onVehicle([260, 300, 340, 330], []), 'no vehicle');
  });

  test('plate-shaped: wide, not a column of letters', () => {
    assert.ok(plateShaped([0, 0, 120, 30]));
    assert.ok(!plateShaped([0, 0, 20, 60]));
    assert.ok(!plateShaped([0, 0, 600, 30]), 'a long sentence');
  });

  test('a registration has 4 to 10 letters and digits, at least one digit', () => {
    for (const r of ['KX19 RPL', 'B-AB 1234', '7ABC123', 'ltz 1298']) assert.ok(readsLikePlate(r), r);
    for (const r of ['SLOW', 'STOP', 'Regulating', '30', 'Marylebone 453 Victoria']) assert.ok(!readsLikePlate(r), r);
  });

  test("a plate's cover reaches past its text to its border", () => {
    assert.deepEqual(plateBox([100, 100, 200, 120], 1000, 1000), [88, 92, 212, 128]);
    assert.deepEqual(plateBox([0, 0, 100, 20], 105, 25), [0, 0, 105, 25]);
  });
});
