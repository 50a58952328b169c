import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runFfmpeg } from '../../src/video/ffmpeg';
import { isVariableRate, normaliseRotation, parseRational, probeVideo } from '../../src/video/probe';
import { makeClip, setMp4Rotation, tempDir } from './support/clips';

let dir = '';
before(() => {
  dir = tempDir('probe-test-');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a plain clip: size, rate, frame count, duration, audio, timing', async () => {
  const file = await makeClip(path.join(dir, 'plain.mp4'));
  const info = await probeVideo(file);
  assert.equal(info.hasVideo, true);
  assert.equal(info.codec, 'h264');
  assert.deepEqual([info.width, info.height, info.codedWidth, info.codedHeight], [160, 120, 160, 120]);
  assert.equal(info.rotation, 0);
  assert.equal(info.fps, 15);
  assert.equal(info.frameCount, 30);
  assert.ok(Math.abs(info.durationSec - 2) < 0.01, `duration ${info.durationSec}`);
  assert.equal(info.timeBase, '1/15360');
  assert.equal(info.variableFrameRate, false);
  assert.equal(info.sampleAspectRatio, '1:1');
  assert.deepEqual(info.audioStreams, [{ index: 1, codec: 'aac', channels: 1, sampleRate: 44100 }]);
  assert.equal(info.colour.pixFmt, 'yuv420p');
  // Plain data: survives JSON unchanged (it travels once per video job).
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
});

test('rotation from the display matrix gives the upright size', async () => {
  const file = await makeClip(path.join(dir, 'rot.mp4'), { audio: 0 });
  setMp4Rotation(file, 90);
  const info = await probeVideo(file);
  assert.equal(info.rotation, 90);
  assert.deepEqual([info.width, info.height, info.codedWidth, info.codedHeight], [120, 160, 160, 120]);
  setMp4Rotation(file, 270);
  assert.equal((await probeVideo(file)).rotation, 270);
  setMp4Rotation(file, 180);
  const upsideDown = await probeVideo(file);
  assert.deepEqual([upsideDown.rotation, upsideDown.width, upsideDown.height], [180, 160, 120]);
});

test('variable frame rate is detected from packet timestamps', async () => {
  const file = await makeClip(path.join(dir, 'vfr.mp4'), { vfr: true, audio: 0 });
  const info = await probeVideo(file);
  assert.equal(info.variableFrameRate, true);
  assert.equal(info.frameCount, 21);
});

test('colour tags and two audio streams are reported', async () => {
  const file = await makeClip(path.join(dir, 'tags.mp4'), { bt709: true, audio: 2 });
  const info = await probeVideo(file);
  assert.deepEqual(info.colour, {
    colorSpace: 'bt709',
    colorPrimaries: 'bt709',
    colorTransfer: 'bt709',
    colorRange: 'tv',
    pixFmt: 'yuv420p',
  });
  assert.equal(info.audioStreams.length, 2);
  assert.equal(info.audioStreams[1].language, 'fra');
});

test('a file without video is a clear error (or hasVideo false when allowed)', async () => {
  const file = path.join(dir, 'sound.m4a');
  const r = await runFfmpeg(['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', file]);
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(probeVideo(file), /sound\.m4a" has no video stream \(it has: audio\)/);
  const info = await probeVideo(file, { allowNoVideo: true });
  assert.equal(info.hasVideo, false);
  assert.equal(info.audioStreams.length, 1);
});

test('not a media file, a truncated MP4, a missing file: errors that name the file', async () => {
  const text = path.join(dir, 'notes.mp4');
  fs.writeFileSync(text, 'this is not a video\n'.repeat(100));
  await assert.rejects(probeVideo(text), (err: Error) => {
    assert.match(err.message, /notes\.mp4/);
    assert.match(err.message, /Invalid data/i);
    return true;
  });

  const whole = await makeClip(path.join(dir, 'whole.mp4'));
  const cut = path.join(dir, 'cut.mp4');
  const bytes = fs.readFileSync(whole);
  fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(probeVideo(cut), /cut\.mp4.*moov atom not found/s);

  // moov at the front, media data cut off: opens fine, the packets are missing.
  const front = await makeClip(path.join(dir, 'front.mp4'), { faststart: true, duration: 4 });
  const frontCut = path.join(dir, 'front-cut.mp4');
  const frontBytes = fs.readFileSync(front);
  fs.writeFileSync(frontCut, frontBytes.subarray(0, Math.floor(frontBytes.length * 0.6)));
  await assert.rejects(probeVideo(frontCut), /front-cut\.mp4": the file is truncated/);

  await assert.rejects(probeVideo(path.join(dir, 'absent.mp4')), /absent\.mp4": no such file/);
  const empty = path.join(dir, 'empty.mp4');
  fs.writeFileSync(empty, '');
  await assert.rejects(probeVideo(empty), /empty\.mp4": the file is empty/);
});

test('helpers: rationals, rotation angles, rate regularity', () => {
  assert.equal(parseRational('30000/1001').toFixed(3), '29.970');
  assert.equal(parseRational('0/0'), 0);
  assert.equal(parseRational('N/A'), 0);
  assert.equal(normaliseRotation(-90), 270);
  assert.equal(normaliseRotation(450), 90);
  assert.equal(normaliseRotation(-180), 180);
  // 29.97 fps in a 1/1000 time base alternates 33/34 ms: still constant rate.
  assert.equal(isVariableRate([0, 33, 67, 100, 133, 167, 200, 234]), false);
  assert.equal(isVariableRate([0, 512, 1024, 2048, 2560]), true);
});
