/**
 * A static camera's small-face pass: the host remembers each tile's pixels
 * and faces between a video's frames, and a tile whose pixels have not
 * changed keeps its faces instead of running again. What a user must never
 * see is a face left unhidden because of it: the scene is the labelled beach
 * composite (15 faces of 20 to 28 px that only tiles find, on a real photo),
 * through H.264 as a camera's stream is; then a group photo is laid on the
 * sand where there was none, and its faces must be found at the next call.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Box, Instance, RawFrame } from '../../src/common/types';
import { planFacePasses, RedactionEngine } from '../../src/engine';
import { tileSignature, TileMemory, MAX_SKIPS, TOLERANCE } from '../../src/engine/face/tile-memory';
import { labelledImages, LABELS, type LabelledImage } from '../fixtures/faces/labelled';
import { covered, maskMap } from '../helpers/coverage';
import { MediaUnavailableError } from '../helpers/registry-media';
import { resolveFfmpegPath } from '../../src/video/ffmpeg-binaries';
import { useNodeRed } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { cannotRun } from '../security/support';
import { encodeFrames, redactVideo } from '../video/support/redact-video';

async function raw(image: Buffer): Promise<RawFrame> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** The frames as a camera's stream carries them: through H.264 and back, as video-split reads them. */
async function throughH264(frames: RawFrame[]): Promise<RawFrame[]> {
  const { width, height } = frames[0];
  const clip = path.join(tempDir(), 'static-camera.mp4');
  await encodeFrames(frames.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength)), width, height, 10, clip);
  const out = spawnSync(resolveFfmpegPath(), ['-v', 'error', '-i', clip, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 30 });
  assert.equal(out.status, 0, String(out.stderr));
  const size = width * height * 3;
  return frames.map((_, i) => ({ data: out.stdout.subarray(i * size, (i + 1) * size), width, height, channels: 3 }));
}

function hidden(instances: Instance[], faces: Box[], width: number, height: number): string[] {
  const map = maskMap(instances, width, height);
  return faces.filter((f) => covered(f, map, width) < 0.95).map((f) => `[${f.map(Math.round).join(', ')}]`);
}

describe('the tiled pass remembers a static scene, and never at the cost of a face', () => {
  let beach: LabelledImage | undefined;
  let group: LabelledImage | undefined;
  let unavailable = '';
  before(async () => {
    try {
      const images = await labelledImages();
      beach = images.find((i) => i.name === 'beach');
      group = images.find((i) => i.name === 'sample4');
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('unchanged tiles keep their faces; a face that appears is found at the next call; every tile runs again within a few calls', async (t) => {
    if (!beach || !group) return cannotRun(t, unavailable);
    const engine = await RedactionEngine.load({ textModels: false });
    try {
      // A still scene for two frames, then a group photo laid on the sand where no face was, still again after.
      const byName = LABELS.photos.find((p) => p.name === 'sample4');
      assert.ok(byName);
      // Faces 18 to 22 px wide: small enough that only tiles find them (at 0.1 one of them, 16 px, is too small for the detector at all).
      const scale = 0.12, left = 80, top = 560;
      const { width: gw = 0 } = await sharp(group.image).metadata();
      const layer = await sharp(group.image).resize(Math.round(gw * scale)).toBuffer();
      const still = await raw(beach.image);
      const laid = await raw(await sharp(beach.image).composite([{ input: layer, left, top }]).toBuffer());
      const frames = await throughH264([still, still, ...Array.from({ length: MAX_SKIPS + 3 }, () => laid)]);
      const { width, height } = still;
      const newFaces = byName.faces.map((f) => [left + f[0] * scale, top + f[1] * scale, left + f[2] * scale, top + f[3] * scale] as Box);
      const call = (frame: RawFrame) => engine.segment(frame, 'face', { media: 'video', face: { tiles: 'auto', tileMemory: 'camera-1' } });

      const first = await call(frames[0]);
      const tiles = planFacePasses(width, height, 'auto', 320, 240).length - 1;
      assert.equal(first.timings.faceTilesKept, 0, 'nothing to remember yet');
      assert.deepEqual(hidden(first.instances, beach.faces, width, height), [], 'the small faces on the first frame');

      // The same scene again: tiles keep their faces, and the faces stay hidden.
      const again = await call(frames[1]);
      assert.ok((again.timings.faceTilesKept ?? 0) >= 0.9 * tiles, `${again.timings.faceTilesKept} of ${tiles} tiles kept`);
      // The second looks at faces only tiles found are remembered with them: a still scene costs a fraction of the passes.
      assert.ok(again.timings.facePasses < first.timings.facePasses / 4, `${again.timings.facePasses} passes against ${first.timings.facePasses}`);
      assert.deepEqual(hidden(again.instances, beach.faces, width, height), [], 'the small faces when tiles are remembered');

      // The faces that appeared are found at once; tiles away from them were still kept.
      const appeared = await call(frames[2]);
      assert.deepEqual(hidden(appeared.instances, [...beach.faces, ...newFaces], width, height), [], 'the faces that appeared, and the others');
      assert.ok((appeared.timings.faceTilesKept ?? 0) > 0 && (appeared.timings.faceTilesKept ?? 0) < tiles, `${appeared.timings.faceTilesKept} of ${tiles} tiles kept`);

      // However still the scene, a tile keeps its faces at most MAX_SKIPS calls in a row.
      const kept: number[] = [];
      for (const frame of frames.slice(3)) {
        const r = await call(frame);
        kept.push(r.timings.faceTilesKept ?? 0);
        assert.deepEqual(hidden(r.instances, [...beach.faces, ...newFaces], width, height), [], 'every face on the still frames');
      }
      // (Tiles that ran on different frames keep their faces in turns: count the runs over MAX_SKIPS + 1 calls.)
      const runs = kept.slice(0, MAX_SKIPS + 1).reduce((n, k) => n + tiles - k, 0);
      assert.ok(runs >= tiles, `tiles kept per call on a still scene: ${kept.join(', ')} of ${tiles}`);
    } finally {
      await engine.close();
    }
  });

  test('a tile counts as unchanged only within the tolerance of the frame it last ran on, so slow change adds up', () => {
    const w = 32, h = 16;
    const image = new Uint8Array(w * h * 3).fill(100);
    const memory = new TileMemory<string>(w, h);
    memory.remember('t', tileSignature(image, w, 0, 0, w, h), ['a face']);
    // Each step is within the tolerance of the one before, but not of the frame the tile ran on.
    const drift = (v: number) => tileSignature(new Uint8Array(w * h * 3).fill(v), w, 0, 0, w, h);
    assert.deepEqual(memory.recall('t', drift(100 + TOLERANCE)), ['a face']);
    assert.equal(memory.recall('t', drift(100 + 2 * TOLERANCE)), undefined, 'drift past the tolerance of the last run');
    // However still, a tile keeps its faces MAX_SKIPS calls in a row, then runs again.
    memory.remember('s', drift(100), ['a face']);
    const calls = Array.from({ length: MAX_SKIPS + 1 }, () => memory.recall('s', drift(100)));
    assert.deepEqual(calls, [...Array.from({ length: MAX_SKIPS }, () => ['a face']), undefined]);
    // A face the second look confirmed stays confirmed for MAX_SKIPS calls at exactly its box; nothing else is taken as confirmed.
    memory.confirm([10, 10, 30, 34]);
    assert.deepEqual(Array.from({ length: MAX_SKIPS + 1 }, () => memory.wasConfirmed([10, 10, 30, 34])), [...Array.from({ length: MAX_SKIPS }, () => true), false]);
    assert.equal(memory.wasConfirmed([10, 10, 30, 35]), false);
    // One block of 8 x 8 changed by a face-sized patch is enough.
    const patched = new Uint8Array(w * h * 3).fill(100);
    for (let y = 4; y < 12; y++) for (let x = 20; x < 26; x++) patched.fill(160, (y * w + x) * 3, (y * w + x) * 3 + 3);
    memory.remember('u', tileSignature(image, w, 0, 0, w, h), []);
    assert.equal(memory.recall('u', tileSignature(patched, w, 0, 0, w, h)), undefined);
  });

  test("a tile's signature is the rounded mean of each 8 x 8 block of it, narrower edge blocks included", () => {
    // A real tile lies anywhere in its level, and its size need not be a multiple of the block.
    const stride = 53, rows = 41;
    const image = Uint8Array.from({ length: stride * rows * 3 }, (_, i) => (i * 7919 + (i >> 5) * 104729) % 256);
    const [x, y, w, h] = [5, 3, 37, 29];
    const expected: number[] = [];
    for (let by = 0; by < h; by += 8) {
      for (let bx = 0; bx < w; bx += 8) {
        for (let k = 0; k < 3; k++) {
          let sum = 0, n = 0;
          for (let py = by; py < Math.min(h, by + 8); py++) {
            for (let px = bx; px < Math.min(w, bx + 8); px++, n++) sum += image[((y + py) * stride + x + px) * 3 + k];
          }
          expected.push(Math.round(sum / n));
        }
      }
    }
    assert.deepEqual([...tileSignature(image, stride, x, y, w, h)], expected);
  });
});

describe('a still camera through the nodes: the small faces of every frame, and the smallest face set', () => {
  useNodeRed();
  const STILL = 3, FRAMES = 6;
  let clip: string | undefined;
  let beachFaces: Box[] = [];
  let laidFaces: Box[] = [];
  let size = { width: 0, height: 0 };
  let unavailable = '';
  before(async () => {
    try {
      const images = await labelledImages();
      const beach = images.find((i) => i.name === 'beach');
      const group = images.find((i) => i.name === 'sample4');
      const labels = LABELS.photos.find((p) => p.name === 'sample4');
      if (!beach || !group || !labels) throw new Error('the beach scene or sample4 is missing');
      const scale = 0.12, left = 80, top = 560;
      const { width: gw = 0 } = await sharp(group.image).metadata();
      const layer = await sharp(group.image).resize(Math.round(gw * scale)).toBuffer();
      const still = await raw(beach.image);
      const laid = await raw(await sharp(beach.image).composite([{ input: layer, left, top }]).toBuffer());
      size = { width: still.width, height: still.height };
      beachFaces = beach.faces;
      laidFaces = labels.faces.map((f) => [left + f[0] * scale, top + f[1] * scale, left + f[2] * scale, top + f[3] * scale] as Box);
      const frames = [...Array.from({ length: STILL }, () => still.data), ...Array.from({ length: FRAMES - STILL }, () => laid.data)];
      clip = path.join(tempDir(), 'still-camera.mp4');
      await encodeFrames(frames.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)), size.width, size.height, 10, clip);
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('with the tiled pass on every frame (tiles remembered between them), every small face is hidden on every frame it shows', async (t) => {
    if (!clip) return cannotRun(t, unavailable);
    const perFrame = await redactVideo(clip, FRAMES, 'face', { smallFaceStride: 1 }, 'fill');
    for (let i = 0; i < FRAMES; i++) {
      const faces = i < STILL ? beachFaces : [...beachFaces, ...laidFaces];
      assert.deepEqual(hidden(perFrame.get(i) ?? [], faces, size.width, size.height), [], `frame ${i}: faces not hidden`);
    }
  });

  test('smallest face 48 px: the 20 to 28 px faces are left, as the setting says', async (t) => {
    if (!clip) return cannotRun(t, unavailable);
    const perFrame = await redactVideo(clip, FRAMES, 'face', { smallFaceStride: 1, smallestFace: 48 }, 'fill');
    const left = hidden(perFrame.get(0) ?? [], beachFaces, size.width, size.height);
    assert.ok(left.length > 0, 'every small face was hidden: the setting made no difference in video');
  });
});
