import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boxMaskToRle, rleToBoxMask } from '../../src/common/rle';
import type { Box, Instance, RawFrame } from '../../src/common/types';
import { FAILED_LABEL, FrameSchedule } from '../../src/video/frame-schedule';
import { frameSignature, isSceneCut } from '../../src/video/scene-cut';
import { TrackBook, Tracker, type TrackedInstance } from '../../src/video/tracks';
import { paint } from '../helpers/images';

const W = 320, H = 180;
const RED: [number, number, number] = [255, 0, 0];

/** Where the moving square is in frame i (or null when off screen). */
type Path = (i: number) => Box | null;

function frameAt(path: Path, i: number, background: [number, number, number] = [128, 128, 128]): RawFrame {
  const b = path(i);
  return paint(W, H, b ? [{ x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1], rgb: RED }] : [], background);
}

/** A real (if tiny) detector: finds the bounding box of pure red pixels in the frame. */
async function findRed(frame: RawFrame, label = 'red'): Promise<Instance[]> {
  let x1 = W, y1 = H, x2 = -1, y2 = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const o = (y * W + x) * 3;
    if (frame.data[o] === 255 && frame.data[o + 1] === 0) {
      x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1);
    }
  }
  if (x2 < 0) return [];
  const w = x2 - x1, h = y2 - y1;
  return [{ label, score: 0.9, box: [x1, y1, x2, y2], mask: boxMaskToRle({ x: x1, y: y1, width: w, height: h, data: new Uint8Array(w * h).fill(1) }, W, H) }];
}

/** True when the union of the instances' masks covers every pixel of `box`. */
function covers(instances: Instance[], box: Box): boolean {
  const covered = new Uint8Array(W * H);
  for (const inst of instances) {
    const m = rleToBoxMask(inst.mask);
    if (!m) continue;
    for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (m.data[y * m.width + x]) covered[(y + m.y) * W + x + m.x] = 1;
  }
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) if (!covered[y * W + x]) return false;
  return true;
}

interface Emitted { index: number; instances: TrackedInstance[]; carried: boolean }

interface RunOptions {
  failAt?: number;
  mode?: 'redact' | 'fail';
  background?: (i: number) => [number, number, number];
  hold?: number;
  /** Frames on which the detector misses (a turn, a blur). */
  missAt?: number[];
}

async function run(path: Path, frames: number, stride: number, opts: RunOptions = {}) {
  const emitted: Emitted[] = [];
  const detected: number[] = [];
  let failure: Error | undefined;
  let prevSig: Float32Array | undefined;
  await new Promise<void>((resolve) => {
    const schedule = new FrameSchedule<RawFrame>({
      width: W, height: H, hold: opts.hold ?? 0, onDetectionError: opts.mode ?? 'redact',
      groups: [{
        name: 'red',
        stride,
        detect: async (i, frame) => {
          detected.push(i);
          await new Promise((r) => setTimeout(r, (i * 7) % 5)); // detections finish out of order
          if (i === opts.failAt) throw new Error('model crashed');
          return opts.missAt?.includes(i) ? [] : findRed(frame);
        },
      }],
      emit: (index, _frame, instances, carried) => {
        emitted.push({ index, instances, carried });
        if (index === frames - 1) resolve();
      },
      fail: (err, held) => { failure = err; assert.ok(held.length > 0); resolve(); },
    });
    for (let i = 0; i < frames; i++) {
      const frame = frameAt(path, i, opts.background?.(i));
      const sig = frameSignature(frame);
      schedule.push(i, frame, { last: i === frames - 1, cut: prevSig ? isSceneCut(prevSig, sig) : false });
      prevSig = sig;
    }
  });
  return { emitted, detected: detected.sort((a, b) => a - b), failure };
}

describe('detection groups on strides, tracks, holds and covers between detections', () => {
  test('a moving object is covered in every frame, frames leave in order', async () => {
    const path: Path = (i) => [10 + 9 * i, 40 + 2 * i, 40 + 9 * i, 70 + 2 * i];
    const { emitted, detected } = await run(path, 27, 6);
    assert.deepEqual(detected, [0, 6, 12, 18, 24, 26]);
    assert.deepEqual(emitted.map((e) => e.index), Array.from({ length: 27 }, (_, i) => i));
    for (const e of emitted) {
      assert.ok(covers(e.instances, path(e.index) as Box), `frame ${e.index} not covered`);
      assert.equal(e.carried, !detected.includes(e.index));
      if (e.carried) assert.ok(e.instances.every((i) => i.carried));
    }
  });

  test('an object that comes into view between detections is covered from its first frame', async () => {
    // Off screen until frame 8, then moving right at 6 px per frame; detections at 0, 10, 20.
    const path: Path = (i) => (i < 8 ? null : [100 + 6 * (i - 8), 60, 124 + 6 * (i - 8), 84]);
    const { emitted } = await run(path, 21, 10);
    for (const e of emitted) {
      const b = path(e.index);
      if (b) assert.ok(covers(e.instances, b), `frame ${e.index} not covered`);
    }
  });

  test('a scene cut forces detections on both sides of the cut', async () => {
    // The object jumps across the frame at the cut (frame 13), with a new background.
    const path: Path = (i) => (i < 13 ? [20, 20, 50, 50] : [250, 120, 280, 150]);
    const { emitted, detected } = await run(path, 20, 10, { background: (i) => (i < 13 ? [128, 128, 128] : [20, 90, 200]) });
    assert.ok(detected.includes(12) && detected.includes(13), `detected ${detected}`);
    for (const e of emitted) assert.ok(covers(e.instances, path(e.index) as Box), `frame ${e.index} not covered`);
    // Frames of the old shot are not covered by the new shot's masks alone.
    const old = emitted.find((e) => e.index === 11) as Emitted;
    assert.ok(!old.instances.some((i) => i.box[0] >= 200), 'old-shot frame carries new-shot cover');
  });

  test('a failed detection covers its frames entirely, never passes them unredacted', async () => {
    const path: Path = (i) => [10 + 5 * i, 40, 40 + 5 * i, 70];
    const { emitted } = await run(path, 16, 5, { failAt: 5 });
    for (const e of emitted.filter((x) => x.index >= 1 && x.index <= 9)) {
      assert.ok(e.instances.some((i) => i.label === FAILED_LABEL), `frame ${e.index} should be fully covered`);
      assert.ok(covers(e.instances, [0, 0, W, H]));
    }
    assert.equal(emitted.length, 16);
  });

  test('with onDetectionError "fail" the job fails and nothing after the failure is emitted', async () => {
    const path: Path = (i) => [10 + 5 * i, 40, 40 + 5 * i, 70];
    const { emitted, failure } = await run(path, 16, 5, { failAt: 10, mode: 'fail' });
    assert.match(String(failure), /model crashed/);
    assert.ok(emitted.every((e) => e.index < 6), `emitted ${emitted.map((e) => e.index)}`);
  });

  test('objects are matched by label and position between detections', () => {
    const inst = (label: string, box: Box): Instance => ({ label, score: 1, box, mask: boxMaskToRle({ x: box[0], y: box[1], width: box[2] - box[0], height: box[3] - box[1], data: new Uint8Array((box[2] - box[0]) * (box[3] - box[1])).fill(1) }, W, H) });
    const tracker = new Tracker({ width: W, height: H, hold: 0, wholeFrameLabel: FAILED_LABEL, book: new TrackBook(10) });
    const a = tracker.add(0, [inst('face', [0, 0, 20, 20]), inst('plate', [200, 100, 240, 120])]);
    const b = tracker.add(4, [inst('face', [40, 0, 60, 20]), inst('plate', [200, 100, 240, 120])]);
    assert.deepEqual(b.map((i) => i.track), a.map((i) => i.track), 'each object keeps its track');
    assert.ok(covers(tracker.coverFor(2), [20, 0, 40, 20]), 'the face halfway along its path');
  });

  test('every instance has a track, stable across frames', async () => {
    const path: Path = (i) => [10 + 9 * i, 40 + 2 * i, 40 + 9 * i, 70 + 2 * i];
    const { emitted } = await run(path, 27, 6);
    const tracks = new Set(emitted.flatMap((e) => e.instances.map((i) => i.track)));
    assert.equal(tracks.size, 1, `one object, one track: ${[...tracks]}`);
  });

  test('a miss on one or two frames never leaks: the track is held across it', async () => {
    const path: Path = (i) => [10 + 4 * i, 40, 40 + 4 * i, 70];
    const { emitted } = await run(path, 30, 1, { hold: 3, missAt: [7, 15, 16] });
    for (const e of emitted) assert.ok(covers(e.instances, path(e.index) as Box), `frame ${e.index} not covered`);
    assert.equal(new Set(emitted.flatMap((e) => e.instances.map((i) => i.track))).size, 1, 'the same track through the misses');
    const missed = emitted.find((e) => e.index === 7) as Emitted;
    assert.ok(missed.instances.every((i) => i.carried), 'the missed frame is covered by the held track');
  });

  test('a held track reaches back: an object first found late is covered on the frames before', async () => {
    // Visible from frame 5, missed at 5 and 6: found first at 7.
    const path: Path = (i) => (i < 5 ? null : [100, 60, 130, 90]);
    const { emitted } = await run(path, 14, 1, { hold: 3, missAt: [5, 6] });
    for (const e of emitted.filter((x) => x.index >= 5)) assert.ok(covers(e.instances, path(e.index) as Box), `frame ${e.index} not covered`);
  });

  test('groups on their own strides: each frame waits for every group and carries the union', async () => {
    const W2 = W;
    const red: Path = (i) => [10 + 6 * i, 20, 40 + 6 * i, 50];
    const emitted: Emitted[] = [];
    const detected: Record<string, number[]> = { fast: [], slow: [] };
    await new Promise<void>((resolve) => {
      const schedule = new FrameSchedule<RawFrame>({
        width: W2, height: H, hold: 2, onDetectionError: 'redact',
        groups: [
          { name: 'fast', stride: 1, detect: async (i, f) => { detected.fast.push(i); return findRed(f, 'face'); } },
          { name: 'slow', stride: 8, detect: async (i) => { detected.slow.push(i); await new Promise((r) => setTimeout(r, 5)); return [inst('plate', [200, 120, 260, 150])]; } },
        ],
        emit: (index, _f, instances, carried) => { emitted.push({ index, instances, carried }); if (index === 23) resolve(); },
        fail: () => resolve(),
      });
      for (let i = 0; i < 24; i++) schedule.push(i, frameAt(red, i), { last: i === 23 });
    });
    assert.equal(detected.fast.length, 24, 'the fast group on every frame');
    assert.deepEqual(detected.slow.sort((a, b) => a - b), [0, 8, 16, 23]);
    assert.deepEqual(emitted.map((e) => e.index), Array.from({ length: 24 }, (_, i) => i));
    for (const e of emitted) {
      assert.ok(covers(e.instances, red(e.index) as Box), `frame ${e.index}: the face`);
      assert.ok(covers(e.instances, [200, 120, 260, 150]), `frame ${e.index}: the plate`);
    }
  });

  test('two groups that saw an object alike give one cover, with the higher score', async () => {
    // The tiled pass repeats the whole-frame pass: on its frames both groups report the same face.
    const red: Path = (i) => [10 + 6 * i, 20, 40 + 6 * i, 50];
    const emitted: Emitted[] = [];
    await new Promise<void>((resolve) => {
      const schedule = new FrameSchedule<RawFrame>({
        width: W, height: H, hold: 2, onDetectionError: 'redact',
        groups: [
          { name: 'faces', stride: 1, detect: (_i, f) => findRed(f, 'face') },
          { name: 'smallFaces', stride: 4, detect: async (_i, f) => (await findRed(f, 'face')).map((x) => ({ ...x, score: 0.95 })) },
        ],
        emit: (index, _f, instances, carried) => { emitted.push({ index, instances, carried }); if (index === 11) resolve(); },
        fail: () => resolve(),
      });
      for (let i = 0; i < 12; i++) schedule.push(i, frameAt(red, i), { last: i === 11 });
    });
    for (const e of emitted) {
      assert.ok(covers(e.instances, red(e.index) as Box), `frame ${e.index}: the face`);
      const fresh = e.instances.filter((x) => !x.carried);
      assert.equal(fresh.length, 1, `frame ${e.index}: ${fresh.length} fresh covers of one face`);
      if (e.index % 4 === 0) assert.equal(fresh[0].score, 0.95, `frame ${e.index}: the higher score`);
    }
  });

  test('an object seen at one end only grows by the motion measured for its label, not by its size', () => {
    const tracker = new Tracker({ width: 1920, height: 1080, hold: 0, wholeFrameLabel: FAILED_LABEL, book: new TrackBook(10) });
    // Static text lines, matched between 0 and 10: their label moves 0 px per frame in this shot.
    const line = (x: number, y: number): Instance => ({ ...inst('text', [0, 0, 1, 1]), box: [x, y, x + 880, y + 40] });
    tracker.add(0, [line(100, 100), line(100, 300)]);
    // A third, long line appears at 10 (seen at one end only).
    tracker.add(10, [line(100, 100), line(100, 300), line(500, 700)]);
    const carried = tracker.coverFor(5).filter((i) => i.box[1] > 600);
    assert.equal(carried.length, 1);
    const [x1, y1, x2, y2] = carried[0].box;
    // 10 % of its size, and no motion: not half its size per frame (that made 880 px lines into frame-sized blobs).
    assert.ok(x2 - x1 <= 880 * 1.2 + 2 && y2 - y1 <= 40 + 2 * 88 + 2, `grown to ${x2 - x1} x ${y2 - y1}`);
  });

  test('motion is measured only between overlapping sightings, and shared by the groups of a video', () => {
    const book = new TrackBook(20);
    const every = new Tracker({ width: 1920, height: 1080, hold: 3, wholeFrameLabel: FAILED_LABEL, book });
    const tiled = new Tracker({ width: 1920, height: 1080, hold: 3, wholeFrameLabel: FAILED_LABEL, book });
    const face = (x: number, y: number, s = 100): Instance => ({ ...inst('face', [0, 0, 1, 1]), box: [x, y, x + s, y + s] });
    // The every-frame group sees a face drift 2 px per frame.
    for (let i = 0; i <= 10; i++) every.add(i, [face(100 + 2 * i, 100)]);
    // The tiled group, every tenth frame: a false alarm at 0 and another 250 px away at 10 (matched by nearness),
    // and a small face seen at 10 only.
    tiled.add(0, [face(1000, 600)]);
    tiled.add(10, [face(1250, 600), face(600, 400, 20)]);
    const held = tiled.coverFor(5).find((i) => i.box[1] < 500 && i.box[0] < 1000);
    assert.ok(held, 'the small face is held back to frame 5');
    const grownBy = (600 - held.box[0]);
    // 5 frames at the 2 px per frame measured, plus a tenth of its size: not 5 x 25 px from the mismatched false alarms.
    assert.ok(grownBy <= 5 * 2 + 2 + 1, `grown by ${grownBy} px on each side`);
  });

  test('text lines that split or merge keep their track (many-to-one)', () => {
    const tracker = new Tracker({ width: W, height: H, hold: 0, wholeFrameLabel: FAILED_LABEL, book: new TrackBook(10) });
    const text = (b: Box): Instance => ({ ...inst('text', b) });
    const [whole] = tracker.add(0, [text([20, 50, 220, 70])]);
    const halves = tracker.add(6, [text([20, 50, 110, 70]), text([130, 50, 220, 70])]);
    assert.deepEqual(halves.map((h) => h.track), [whole.track, whole.track]);
    assert.ok(covers(tracker.coverFor(3), [20, 50, 220, 70]), 'the line is covered whole between');
  });
});

function inst(label: string, box: Box): Instance {
  return { label, score: 1, box, mask: boxMaskToRle({ x: box[0], y: box[1], width: box[2] - box[0], height: box[3] - box[1], data: new Uint8Array((box[2] - box[0]) * (box[3] - box[1])).fill(1) }, W, H) };
}
