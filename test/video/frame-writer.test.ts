import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { RawFrame } from '../../src/common/types';
import { liveProcessIds } from '../../src/video/ffmpeg';
import { openFrameReader } from '../../src/video/frame-reader';
import { createFrameWriter, FrameInputError, type FrameWriterOptions, type FrameWriterResult } from '../../src/video/frame-writer';
import { fixMp4LastFrameDuration } from '../../src/video/mp4-last-frame';
import { probeVideo } from '../../src/video/probe';
import type { VideoFrame } from '../../src/video/types';
import { ffprobeJson, framePts, isAlive, makeClip, meanRgb, redBox, setMp4Rotation, tempDir, type ClipSpec } from './support/clips';

let dir = '';
before(() => {
  dir = tempDir('writer-test-');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function readAll(file: string): Promise<VideoFrame[]> {
  const frames: VideoFrame[] = [];
  for await (const f of await openFrameReader(file)) frames.push(f);
  return frames;
}

/** Source clip -> reader -> writer, the way the redaction pipeline uses them. */
async function roundTrip(
  name: string,
  spec: ClipSpec,
  extra: Partial<FrameWriterOptions> = {},
  prepare?: (file: string) => void,
): Promise<{ src: string; out: string; result: FrameWriterResult; frames: VideoFrame[] }> {
  const src = await makeClip(path.join(dir, `${name}-src.mp4`), spec);
  prepare?.(src);
  const info = await probeVideo(src);
  const out = path.join(dir, `${name}-out.mp4`);
  const writer = await createFrameWriter({ output: out, source: { ...info, path: src }, ...extra });
  const frames: VideoFrame[] = [];
  for await (const f of await openFrameReader(src, { info })) {
    frames.push(f);
    await writer.write(f.frame, f.timestamp);
  }
  const result = await writer.finish();
  return { src, out, result, frames };
}

function videoOf(p: Awaited<ReturnType<typeof ffprobeJson>>) {
  const v = p.streams.find((s) => s.codec_type === 'video');
  assert.ok(v, 'output has a video stream');
  return v;
}

test('round trip keeps frame count, duration and the audio', async () => {
  const { src, out, result } = await roundTrip('basic', {});
  assert.deepEqual(result, { output: out, frames: 30, width: 160, height: 120, warnings: [] });
  const [a, b] = await Promise.all([ffprobeJson(src, true), ffprobeJson(out, true)]);
  assert.equal(videoOf(b).nb_read_frames, videoOf(a).nb_read_frames);
  // Within half a frame: the muxer alone leaves the last frame 0 long (one frame short).
  const half = 0.5 / 15;
  assert.ok(Math.abs(Number(videoOf(b).duration) - Number(videoOf(a).duration)) < half, `video ${videoOf(b).duration}`);
  assert.ok(Math.abs(Number(b.format.duration) - Number(a.format.duration)) < half, `file ${b.format.duration}`);
  assert.equal(await fixMp4LastFrameDuration(out, 1 / 15), false, 'nothing left to fix: the fix is not applied twice');
  assert.deepEqual(
    b.streams.map((s) => [s.codec_type, s.codec_name]),
    [['video', 'h264'], ['audio', 'aac']],
  );
  // Output only: no temporary file left beside it, no ffmpeg left running.
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), []);
  assert.deepEqual(liveProcessIds(), []);
});

test('two audio streams, colour tags kept; location, creation time and subtitles gone', async () => {
  const { src, out } = await roundTrip('private', { audio: 2, bt709: true, private: true });
  const a = await ffprobeJson(src);
  assert.equal(a.format.tags?.location, '+48.8577+002.2950/', 'the source does carry a location');
  assert.ok(a.streams.some((s) => s.codec_type === 'subtitle'), 'the source does carry subtitles');

  const b = await ffprobeJson(out);
  assert.deepEqual(b.streams.map((s) => s.codec_type), ['video', 'audio', 'audio']);
  assert.equal(b.streams[2].tags?.language, 'fra', 'audio language survives');
  const tags = JSON.stringify([b.format.tags, b.streams.map((s) => s.tags)]);
  assert.doesNotMatch(tags, /location|creation_time|48\.8577/);
  const v = videoOf(b);
  assert.deepEqual(
    [v.color_space, v.color_primaries, v.color_transfer, v.color_range],
    ['bt709', 'bt709', 'bt709', 'tv'],
  );
});

test('colours do not shift through read -> write -> read', async () => {
  const { frames, out } = await roundTrip('colour', { bt709: true, audio: 0 });
  const again = await readAll(out);
  assert.equal(again.length, frames.length);
  for (const i of [0, 20]) {
    const box = redBox(frames[i].frame.data, 160, 120);
    assert.ok(box);
    const inner = { x: box.x0 + 4, y: box.y0 + 4, w: 12, h: 12 };
    const before = meanRgb(frames[i].frame.data, 160, inner);
    const after = meanRgb(again[i].frame.data, 160, inner);
    const gray = meanRgb(again[i].frame.data, 160, { x: 100, y: 80, w: 20, h: 20 });
    before.forEach((c, k) => assert.ok(Math.abs(c - after[k]) < 4, `frame ${i} channel ${k}: ${c} -> ${after[k]}`));
    gray.forEach((c) => assert.ok(Math.abs(c - 128) < 3, `gray came back as ${gray.join(',')}`));
  }
});

test('odd sizes are padded to even, never rescaled', async () => {
  const { out, result, frames } = await roundTrip('odd', { width: 161, height: 121, duration: 1 });
  assert.deepEqual([result.width, result.height], [162, 122]);
  const v = videoOf(await ffprobeJson(out));
  assert.deepEqual([v.width, v.height, v.sample_aspect_ratio], [162, 122, '1:1']);
  const again = await readAll(out);
  // Same box, same place, same size: a rescale would have moved or grown it.
  assert.deepEqual(redBox(again[0].frame.data, 162, 122), redBox(frames[0].frame.data, 161, 121));
  const pad = meanRgb(again[0].frame.data, 162, { x: 161, y: 40, w: 1, h: 60 });
  assert.ok(pad.every((c) => c < 40), `the added column is black padding: ${pad.join(',')}`);
});

test('rotated sources are written upright with no rotation tag', async () => {
  const { out, frames } = await roundTrip('rot', { audio: 1 }, {}, (f) => setMp4Rotation(f, 90));
  const v = videoOf(await ffprobeJson(out));
  assert.deepEqual([v.width, v.height], [120, 160]);
  assert.equal(v.side_data_list?.some((sd) => sd.side_data_type === 'Display Matrix' && sd.rotation) ?? false, false);
  assert.equal(v.tags?.rotate, undefined);
  const info = await probeVideo(out);
  assert.equal(info.rotation, 0);
  const again = await readAll(out);
  assert.deepEqual(redBox(again[0].frame.data, 120, 160), redBox(frames[0].frame.data, 120, 160));
});

test('variable frame rate: every frame keeps its source timestamp', async () => {
  const { src, out, result } = await roundTrip('vfr', { vfr: true });
  const [a, b] = await Promise.all([framePts(src), framePts(out)]);
  assert.equal(result.frames, a.length);
  assert.equal(b.length, a.length, 'every frame is presented (none cut by the edit list)');
  b.forEach((t, i) => assert.ok(Math.abs(t - a[i]) < 1e-3, `frame ${i}: ${t} vs ${a[i]}`));
  const [pa, pb] = await Promise.all([ffprobeJson(src, true), ffprobeJson(out, true)]);
  assert.equal(videoOf(pb).nb_read_frames, videoOf(pa).nb_read_frames);
  assert.ok(Math.abs(Number(videoOf(pb).duration) - Number(videoOf(pa).duration)) <= 1 / 15);
  assert.equal((await probeVideo(out)).variableFrameRate, true);
});

test('video that starts after the audio keeps its place (lip sync)', async () => {
  const { src, out, frames } = await roundTrip('late', { videoDelay: 0.5, duration: 1 });
  assert.ok(Math.abs(frames[0].timestamp - 0.5) < 1e-6, `first frame read at ${frames[0].timestamp}`);
  const [a, b] = await Promise.all([ffprobeJson(src), ffprobeJson(out)]);
  const start = (p: typeof a, kind: string): number => Number(p.streams.find((s) => s.codec_type === kind)?.start_time);
  assert.ok(Math.abs(start(b, 'video') - start(b, 'audio') - (start(a, 'video') - start(a, 'audio'))) < 0.01);
  assert.ok(Math.abs((await framePts(out))[0] - 0.5) < 0.01);
});

test('Matroska output, dropped audio, timestamps given up front', async () => {
  const src = await makeClip(path.join(dir, 'mkv-src.mp4'), { duration: 1 });
  const info = await probeVideo(src);
  const frames = await readAll(src);
  const out = path.join(dir, 'mkv-out.mkv');
  const writer = await createFrameWriter({
    output: out,
    source: { ...info, path: src },
    timestamps: frames.map((f) => f.timestamp),
    dropAudio: true,
    preset: 'ultrafast',
  });
  for (const f of frames) await writer.write(f.frame);
  await writer.finish();
  const p = await ffprobeJson(out, true);
  assert.deepEqual(p.streams.map((s) => s.codec_type), ['video']);
  assert.equal(videoOf(p).nb_read_frames, '15');
});

test('abort mid-write leaves no output, no temporary file, no ffmpeg', async () => {
  const src = await makeClip(path.join(dir, 'abort-src.mp4'), { duration: 2 });
  const info = await probeVideo(src);
  const out = path.join(dir, 'abort-out.mp4');
  const writer = await createFrameWriter({ output: out, source: { ...info, path: src } });
  const reader = await openFrameReader(src, { info });
  for (let i = 0; i < 10; i++) {
    const f = await reader.read();
    assert.ok(f);
    await writer.write(f.frame, f.timestamp);
  }
  await reader.close();
  const pids = liveProcessIds();
  assert.equal(pids.length, 1, 'the encoder is running');
  await writer.abort();
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(writer.tempPath), false);
  assert.equal(isAlive(pids[0]), false);
  assert.deepEqual(liveProcessIds(), []);
  const frame: RawFrame = { data: Buffer.alloc(160 * 120 * 3), width: 160, height: 120, channels: 3 };
  await assert.rejects(writer.write(frame), /after abort/);
  await assert.rejects(writer.finish(), /after abort/);
});

test('a failing encode publishes nothing and says why', async () => {
  const src = await makeClip(path.join(dir, 'fail-src.mp4'), { duration: 1, audio: 0 });
  const info = await probeVideo(src);
  const out = path.join(dir, 'fail-out.mp4');
  const writer = await createFrameWriter({ output: out, source: { ...info, path: src }, codec: 'no_such_encoder' });
  const frame: RawFrame = { data: Buffer.alloc(160 * 120 * 3), width: 160, height: 120, channels: 3 };
  // ffmpeg rejects the command line; depending on timing the write or finish() reports it.
  const attempt = async (): Promise<void> => {
    for (let i = 0; i < 15; i++) await writer.write(frame, i / 15);
    await writer.finish();
  };
  await assert.rejects(attempt(), /fail-out\.mp4" failed:.*(no_such_encoder|Unknown encoder)/s);
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(writer.tempPath), false);
  assert.deepEqual(liveProcessIds(), []);
});

test('bad frames are refused one by one; the video still completes', async () => {
  const src = await makeClip(path.join(dir, 'bad-src.mp4'), { duration: 1, audio: 0 });
  const info = await probeVideo(src);
  const out = path.join(dir, 'bad-out.mp4');
  const writer = await createFrameWriter({ output: out, source: { ...info, path: src }, preset: 'ultrafast' });
  const good: RawFrame = { data: Buffer.alloc(160 * 120 * 3, 90), width: 160, height: 120, channels: 3 };
  await writer.write(good, 0);
  await assert.rejects(writer.write({ ...good, width: 120, height: 160 }, 0.1), FrameInputError);
  await assert.rejects(writer.write({ ...good, data: Buffer.alloc(10) }, 0.1), /must be 57600 bytes/);
  await assert.rejects(writer.write(good, 0), /not after the previous frame/);
  await writer.write(good, 0.1);
  const result = await writer.finish();
  assert.equal(result.frames, 2);
  assert.equal(videoOf(await ffprobeJson(out, true)).nb_read_frames, '2');
});

test('set-up mistakes are caught before any frame', async () => {
  const src = await makeClip(path.join(dir, 'setup-src.mp4'), { duration: 1, audio: 0 });
  const source = { ...(await probeVideo(src)), path: src };
  await assert.rejects(createFrameWriter({ output: path.join(dir, 'x.avi'), source }), /use \.mp4, \.m4v, \.mov or \.mkv/);
  await assert.rejects(createFrameWriter({ output: path.join(dir, 'missing', 'x.mp4'), source }), /folder .* does not exist/);
  await assert.rejects(createFrameWriter({ output: src, source }), /would overwrite the source/);
  const empty = await createFrameWriter({ output: path.join(dir, 'empty.mp4'), source });
  await assert.rejects(empty.finish(), /no frames were written/);
  assert.equal(fs.existsSync(path.join(dir, 'empty.mp4')), false);
});
