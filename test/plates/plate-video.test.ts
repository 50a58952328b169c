/**
 * A plate passing through the frame: a real car photo carrying a plate
 * drives across a real street photo. Through video-split, sam3-segment
 * ("license plate", no SAM 3, default strides), mask-blur and video-encode, as
 * a user wires them: the plate is at least 95 % inside the masks on every
 * frame, between detections too, as one track.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Box, Instance } from '../../src/common/types';
import { labelledPhoto, platePhoto } from '../fixtures/objects/labelled';
import { covered, maskMap } from '../helpers/coverage';
import { useNodeRed } from '../helpers/node-red';
import { MediaUnavailableError } from '../helpers/registry-media';
import { tempDir } from '../helpers/temp';
import { cannotRun } from '../security/support';
import { encodeFrames, redactVideo } from '../video/support/redact-video';

const W = 960, H = 540, FRAMES = 45, CAR_WIDTH = 420;

/** Where the car's left edge is in frame i: left to right, 9 px a frame. */
const carLeft = (i: number): number => 40 + 9 * i;


describe('a plate passing through the frame', () => {
  useNodeRed();
  let clip: string | undefined;
  let plateIn: ((i: number) => Box) | undefined;
  let unavailable = '';
  before(async () => {
    try {
      const car = await platePhoto();
      const meta = await sharp(car.image).metadata();
      const scale = CAR_WIDTH / (meta.width ?? 1);
      const carImage = await sharp(car.image).resize(CAR_WIDTH).png().toBuffer();
      const top = 40;
      const [x1, y1, x2, y2] = car.box;
      plateIn = (i) => [Math.floor(carLeft(i) + x1 * scale), Math.floor(top + y1 * scale), Math.ceil(carLeft(i) + x2 * scale), Math.ceil(top + y2 * scale)];
      const street = await sharp(readFileSync(labelledPhoto('bus-window').path)).resize(W, H, { fit: 'cover' }).png().toBuffer();
      const frames: Buffer[] = [];
      for (let i = 0; i < FRAMES; i++) frames.push(await sharp(street).composite([{ input: carImage, left: carLeft(i), top }]).removeAlpha().raw().toBuffer());
      clip = path.join(tempDir(), 'plate.mp4');
      await encodeFrames(frames, W, H, 25, clip);
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('the plate is hidden on every frame, between detections too, and is one track', async (t) => {
    if (!clip || !plateIn) return cannotRun(t, unavailable);
    const perFrame = await redactVideo(clip, FRAMES, 'license plate');

    const tracks = new Set<number>();
    let carriedFrames = 0;
    const missed: string[] = [];
    for (let i = 0; i < FRAMES; i++) {
      const detections = perFrame.get(i) ?? [];
      const box = plateIn(i);
      const share = covered(box, maskMap(detections, W, H), W);
      if (share < 0.95) missed.push(`frame ${i}: ${(share * 100).toFixed(1)} %`);
      const [cx, cy] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
      for (const d of detections) if (d.box[0] <= cx && cx <= d.box[2] && d.box[1] <= cy && cy <= d.box[3]) tracks.add((d as Instance & { track: number }).track);
      if (detections.length && detections.every((d) => d.carried)) carriedFrames++;
    }
    assert.deepEqual(missed, [], 'frames where the plate shows');
    assert.ok(carriedFrames >= FRAMES / 2, `most frames are between detections (${carriedFrames} carried): the carry is what is tested`);
    assert.equal(tracks.size, 1, `one plate, one track: ${[...tracks].join(', ')}`);
  });
});
