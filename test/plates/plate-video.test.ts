/**
 * A plate passing through the frame: a real car photo carrying a plate
 * drives across a real street photo. Through video-split, sam3-segment
 * ("license plate", no SAM 3, default strides), mask-blur and video-encode, as
 * a user wires them: the plate is at least 95 % inside the masks on every
 * frame, between detections too, as one track.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Box, Instance } from '../../src/common/types';
import { probeVideo, resolveFfmpegPath } from '../../src/video';
import { labelledPhoto, platePhoto } from '../fixtures/objects/labelled';
import { catchAll, inTab } from '../helpers/catch-flow';
import { covered, maskMap } from '../helpers/coverage';
import { coreNode, helper, nodeModule, useNodeRed } from '../helpers/node-red';
import { MediaUnavailableError } from '../helpers/registry-media';
import { tempDir } from '../helpers/temp';
import { cannotRun, Outcomes } from '../security/support';

const W = 960, H = 540, FRAMES = 45, CAR_WIDTH = 420;

/** Where the car's left edge is in frame i: left to right, 9 px a frame. */
const carLeft = (i: number): number => 40 + 9 * i;

async function encode(frames: Buffer[], file: string): Promise<void> {
  const ff = spawn(resolveFfmpegPath(), ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', '-', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '14', '-pix_fmt', 'yuv420p', file]);
  const done = new Promise<void>((resolve, reject) => ff.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`)))));
  for (const f of frames) if (!ff.stdin.write(f)) await new Promise((r) => ff.stdin.once('drain', r));
  ff.stdin.end();
  await done;
}

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
      await encode(frames, clip);
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('the plate is hidden on every frame, between detections too, and is one track', async (t) => {
    if (!clip || !plateIn) return cannotRun(t, unavailable);
    const nodes = [...['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule), coreNode('common/25-catch.js')];
    await helper.load(nodes, inTab([
      { id: 'model', type: 'sam3-model', modelDir: path.join(tempDir(), 'no-sam3') },
      { id: 'splitter', type: 'video-split', window: 32, wires: [['seg']] },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'license plate' }], wires: [['hider']] },
      { id: 'hider', type: 'mask-blur', wires: [['encoder']] },
      { id: 'encoder', type: 'video-encode', preset: 'ultrafast', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]));
    const perFrame = new Map<number, Instance[]>();
    helper.getNode('hider').on('input', (m: { parts: { index: number }; detections: Instance[] }) => perFrame.set(m.parts.index, m.detections));
    const seen = new Outcomes<{ video: { frames: number } }>(helper.getNode('out'), helper.getNode('caught'));
    const output = path.join(tempDir(), 'out.mp4');
    helper.getNode('splitter').receive({ payload: clip, outputPath: output });
    const r = await seen.next(240_000);
    assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
    assert.equal(r.sent[0].video.frames, FRAMES);
    assert.equal((await probeVideo(output)).frameCount, FRAMES);

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
