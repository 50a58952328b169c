import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { liveProcessIds } from '../../src/video/ffmpeg';
import { openFrameReader } from '../../src/video/frame-reader';
import { probeVideo } from '../../src/video/probe';
import type { VideoFrame } from '../../src/video/types';
import { framePts, isAlive, makeClip, redBox, setMp4Rotation, tempDir } from './support/clips';

let dir = '';
before(() => {
  dir = tempDir('reader-test-');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function readAll(file: string): Promise<VideoFrame[]> {
  const frames: VideoFrame[] = [];
  for await (const f of await openFrameReader(file)) frames.push(f);
  return frames;
}

test('every frame once, RGB24, in order, with timestamps at the frame rate', async () => {
  const file = await makeClip(path.join(dir, 'plain.mp4'));
  const frames = await readAll(file);
  assert.equal(frames.length, 30);
  frames.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.deepEqual([f.frame.width, f.frame.height, f.frame.channels, f.frame.data.length], [160, 120, 3, 160 * 120 * 3]);
    assert.ok(Math.abs(f.timestamp - i / 15) < 1e-6, `frame ${i} at ${f.timestamp}`);
  });
  // The red box starts at x=0 and moves right 40 px/s: the pixels are the video's.
  assert.deepEqual(redBox(frames[0].frame.data, 160, 120), { x0: 0, y0: 10, x1: 19, y1: 29 });
  const later = redBox(frames[15].frame.data, 160, 120);
  assert.ok(later && later.x0 === 40, `box at ${JSON.stringify(later)} after 1 s`);
  assert.deepEqual(liveProcessIds(), []);
});

test('recycled frame buffers carry later frames, pixel for pixel as fresh ones would', async () => {
  const file = await makeClip(path.join(dir, 'recycle.mp4'));
  const fresh = (await readAll(file)).map((f) => Buffer.from(f.frame.data));
  const reader = await openFrameReader(file);
  const seen = new Set<ArrayBufferLike>();
  let reused = 0;
  for (let f = await reader.read(); f; f = await reader.read()) {
    if (seen.has(f.frame.data.buffer)) reused++;
    seen.add(f.frame.data.buffer);
    assert.ok(Buffer.from(f.frame.data).equals(fresh[f.index]), `frame ${f.index} differs from a fresh read`);
    // What video-encode does once the frame is written; a buffer the reader did not make is ignored.
    reader.recycle(f.frame.data);
    reader.recycle(Buffer.alloc(f.frame.data.length));
  }
  assert.ok(reused >= fresh.length - 2, `only ${reused} of ${fresh.length} frames reused a buffer`);
  assert.ok(seen.size <= 2, `${seen.size} buffers for ${fresh.length} frames`);
});

test('rotated video comes out upright', async () => {
  const file = await makeClip(path.join(dir, 'rot.mp4'), { audio: 0 });
  setMp4Rotation(file, 90);
  const frames = await readAll(file);
  assert.equal(frames.length, 30);
  assert.deepEqual([frames[0].frame.width, frames[0].frame.height], [120, 160]);
  // Stored top-left (x 0-19, y 10-29) is upright top-right after a clockwise turn.
  assert.deepEqual(redBox(frames[0].frame.data, 120, 160), { x0: 90, y0: 0, x1: 109, y1: 19 });
});

test('variable frame rate: the source timestamps, not a constant rate', async () => {
  const file = await makeClip(path.join(dir, 'vfr.mp4'), { vfr: true, audio: 0 });
  const expected = await framePts(file);
  const frames = await readAll(file);
  assert.equal(frames.length, expected.length);
  frames.forEach((f, i) => assert.ok(Math.abs(f.timestamp - expected[i]) < 1e-4, `frame ${i}: ${f.timestamp} vs ${expected[i]}`));
  const gaps = frames.slice(1).map((f, i) => f.timestamp - frames[i].timestamp);
  assert.ok(Math.max(...gaps) > 3 * Math.min(...gaps), 'the dropped frames leave gaps');
});

test('odd sizes are read at their real size', async () => {
  const file = await makeClip(path.join(dir, 'odd.mp4'), { width: 161, height: 121, audio: 0, duration: 1 });
  const frames = await readAll(file);
  assert.equal(frames.length, 15);
  assert.deepEqual([frames[0].frame.width, frames[0].frame.height, frames[0].frame.data.length], [161, 121, 161 * 121 * 3]);
});

test('backpressure: ffmpeg waits for a slow consumer, memory stays bounded', async () => {
  // 600 frames of 320x240: 138 MB of raw RGB if ffmpeg were allowed to run ahead.
  const file = await makeClip(path.join(dir, 'long.mp4'), { width: 320, height: 240, rate: 30, duration: 20, audio: 0 });
  const reader = await openFrameReader(file);
  const first = await reader.read();
  assert.ok(first);
  const before = process.memoryUsage().arrayBuffers;
  await sleep(700);
  assert.equal(reader.exited, false, 'ffmpeg finished decoding although nobody was reading');
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 8 * 1024 * 1024, `buffered ${grown} bytes while paused`);
  for (let i = 0; i < 10; i++) assert.ok(await reader.read());
  assert.equal(reader.framesRead, 11);
  await reader.close();
});

test('close() and leaving a for-await loop early stop ffmpeg', async () => {
  const file = await makeClip(path.join(dir, 'stop.mp4'), { width: 320, height: 240, rate: 30, duration: 10, audio: 0 });
  const reader = await openFrameReader(file);
  const pids = liveProcessIds();
  assert.equal(pids.length, 1);
  let n = 0;
  for await (const f of reader) {
    assert.equal(f.index, n);
    if (++n === 3) break;
  }
  assert.equal(isAlive(pids[0]), false);
  assert.deepEqual(liveProcessIds(), []);
  assert.equal(await reader.read(), null, 'a closed reader yields nothing');

  const controller = new AbortController();
  const aborted = await openFrameReader(file, { signal: controller.signal });
  const pid = liveProcessIds()[0];
  assert.ok(await aborted.read());
  controller.abort();
  await aborted.close();
  assert.equal(isAlive(pid), false);
});

test('probe facts can be passed in, and bad inputs fail with the file named', async () => {
  const file = await makeClip(path.join(dir, 'given.mp4'), { audio: 0, duration: 1 });
  const info = await probeVideo(file);
  const reader = await openFrameReader(file, { info });
  assert.equal(reader.info, info);
  await reader.close();

  const text = path.join(dir, 'not-video.mov');
  fs.writeFileSync(text, 'hello');
  await assert.rejects(openFrameReader(text), /not-video\.mov/);

  const front = await makeClip(path.join(dir, 'front.mp4'), { faststart: true, duration: 4, audio: 0 });
  const cut = path.join(dir, 'front-cut.mp4');
  const bytes = fs.readFileSync(front);
  fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  // The reader's own probe skips the packet scan; the decode notices instead.
  await assert.rejects(readAll(cut), /front-cut\.mp4" failed: the file is truncated/);
  assert.deepEqual(liveProcessIds(), []);
});

test('the stdout pipe (Windows, and the fallback) gives the same frames as the local socket, and stops as cleanly', async () => {
  const file = await makeClip(path.join(dir, 'transports.mp4'), { width: 161, height: 121, audio: 0, duration: 1 });
  const socketFolders = (): string[] => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('sam3-frames-'));
  const before = new Set(socketFolders());
  const viaSocket = await readAll(file);
  const viaPipe: VideoFrame[] = [];
  for await (const f of await openFrameReader(file, { transport: 'pipe' })) viaPipe.push(f);
  assert.equal(viaPipe.length, viaSocket.length);
  viaPipe.forEach((f, i) => {
    assert.equal(f.timestamp, viaSocket[i].timestamp);
    assert.ok(Buffer.from(f.frame.data).equals(Buffer.from(viaSocket[i].frame.data)), `frame ${i} differs`);
  });
  const early = await openFrameReader(file, { transport: 'pipe' });
  const pid = liveProcessIds()[0];
  assert.ok(await early.read());
  await early.close();
  assert.equal(isAlive(pid), false);
  // The socket pair's private folder is gone once ffmpeg has its end.
  assert.deepEqual(socketFolders().filter((n) => !before.has(n)), []);
});
