/**
 * The face detector's passes over an image: for every face size from the
 * smallest asked for up, some pass must show the face at least 12 px across
 * at the model's input (what the bundled detector finds) and whole: inside a
 * tile (tiles overlap by a quarter, so a face up to a quarter of a tile's
 * side is whole in one of them) or in the whole-image pass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planFacePasses, type FacePassPlan } from '../../src/engine/face/backend';

const INPUT = { width: 320, height: 240 };

/** Whether a face of `size` px is found whole at >= 12 px in this pass. */
function sees(plan: FacePassPlan, size: number, imageWidth: number, imageHeight: number): boolean {
  const { width, height } = plan.region;
  // The pass is stretched to the input: the face shrinks by the larger of the two factors.
  const shrink = Math.max(width / INPUT.width, height / INPUT.height);
  const whole = width === imageWidth && height === imageHeight;
  return size / shrink >= 12 && (whole || size <= Math.min(width, height) / 4);
}

describe('face passes: every face size from the smallest asked for is seen', () => {
  const images: Array<[number, number]> = [[1920, 1080], [4000, 3000], [1280, 720], [640, 480], [3840, 2160], [1080, 1920]];
  for (const minFace of [12, 16, 24, 32, 48, 64, 100]) {
    test(`smallest face ${minFace} px`, () => {
      for (const [w, h] of images) {
        const plans = planFacePasses(w, h, 'auto', INPUT.width, INPUT.height, minFace);
        const unseen: number[] = [];
        for (let size = minFace; size <= Math.min(w, h) / 3; size++) {
          if (!plans.some((p) => sees(p, size, w, h))) unseen.push(size);
        }
        assert.deepEqual(unseen.length ? [unseen[0], unseen[unseen.length - 1]] : [], [], `${w}x${h}, smallest face ${minFace} px: sizes from ${unseen[0]} to ${unseen[unseen.length - 1]} px are seen by no pass`);
      }
    });
  }

  test('a larger smallest face needs fewer passes, never more', () => {
    for (const [w, h] of [[1920, 1080], [4000, 3000]]) {
      const counts = [12, 24, 48, 96].map((m) => planFacePasses(w, h, 'auto', INPUT.width, INPUT.height, m).length);
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i] <= counts[i - 1], `${w}x${h}: ${counts.join(', ')} passes`);
      assert.ok(counts[0] > counts[counts.length - 1], `${w}x${h}: ${counts.join(', ')} passes`);
    }
  });

  test('a smallest face that is not a positive number is refused, not read as "no tiles"', () => {
    for (const bad of [NaN, 0, -12, Infinity, '24' as unknown as number]) {
      assert.throws(() => planFacePasses(1920, 1080, 'auto', INPUT.width, INPUT.height, bad), (err: Error & { code?: string }) => err.code === 'OPTION_INVALID', String(bad));
    }
  });
});
