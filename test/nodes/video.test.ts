import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { liveProcessIds, openFrameReader, probeVideo } from '../../src/video';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { ffprobeJson, framePts, makeClip, redBox } from '../video/support/clips';

const nodes = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule);
const core = [coreNode('common/25-catch.js'), coreNode('function/10-switch.js')];

interface Options {
  stride?: number;
  window?: number;
  stallTimeout?: number;
  onDetectionError?: 'redact' | 'fail';
  /** Leave mask-blur out (a miswired flow). */
  noBlur?: boolean;
  /** Drop this frame between segment and blur (a node that loses a frame). */
  dropFrame?: number;
  /** What sam3-segment looks for (default "red", the clip's moving box). */
  prompt?: string;
  /** mask-blur's privacy zones. */
  zones?: unknown[];
}

function flow(modelDir: string, o: Options = {}): FlowNode[] {
  const afterSegment = o.dropFrame !== undefined ? 'dropper' : o.noBlur ? 'encoder' : 'hider';
  return inTab([
    { id: 'model', type: 'sam3-model', modelDir },
    { id: 'splitter', type: 'video-split', window: o.window ?? 16, stallTimeout: o.stallTimeout ?? 60, wires: [['seg']] },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: o.prompt ?? 'red' }], stride: o.stride ?? 4, onDetectionError: o.onDetectionError ?? 'redact', wires: [[afterSegment]] },
    {
      id: 'dropper', type: 'switch', property: 'parts.index', propertyType: 'msg',
      rules: [{ t: 'neq', v: String(o.dropFrame ?? -1), vt: 'num' }], checkall: 'true', repair: false, outputs: 1, wires: [['hider']],
    },
    { id: 'hider', type: 'mask-blur', mode: 'fill', fillColor: '#0000ff', zones: o.zones ?? [], wires: [['encoder']] },
    { id: 'encoder', type: 'video-encode', preset: 'ultrafast', wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...catchAll,
  ]);
}

type Done = { payload: string; video: { frames: number; detections: { fresh: number; carried: number }; coveredWhole?: { frames: number; because: string[] }; zones?: string[]; audioStreams: number } };

async function leftovers(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((f) => f !== 'in.mp4');
}

describe('video redaction: video-split -> sam3-segment -> mask-blur -> video-encode', () => {
  useNodeRed();
  let modelDir: string;
  before(async () => {
    modelDir = path.join(tempDir(), 'model');
    await buildFixtureModel(modelDir);
  });

  test('every frame of the moving shape is covered, frames, timing and audio kept', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { width: 160, height: 120, rate: 15, duration: 2, audio: 2 });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 4 }));
    const done = nextMessage<Done>(helper.getNode('out'), 60_000);
    helper.getNode('splitter').receive({ payload: input });
    const msg = await done;
    assert.equal(msg.payload, path.join(dir, 'in-redacted.mp4'));

    const src = await probeVideo(input);
    const out = await probeVideo(msg.payload);
    assert.equal(out.frameCount, src.frameCount);
    assert.equal(msg.video.frames, src.frameCount);
    assert.ok(Math.abs(out.durationSec - src.durationSec) <= 1 / 15 + 1e-3, `duration ${out.durationSec} vs ${src.durationSec}`);
    assert.equal(out.audioStreams.length, 2);
    assert.equal(msg.video.audioStreams, 2);
    // Stride 4 counts at 30 fps: this 15 fps clip is looked at every 2nd frame.
    assert.ok(msg.video.detections.fresh >= 8 && msg.video.detections.carried >= 10, JSON.stringify(msg.video.detections));

    // The source shows the red box in every frame; the output in none.
    const inReader = await openFrameReader(input);
    let shown = 0;
    for await (const f of inReader) if (redBox(f.frame.data, f.frame.width, f.frame.height)) shown++;
    assert.equal(shown, src.frameCount);
    const reader = await openFrameReader(msg.payload);
    let frames = 0;
    for await (const f of reader) {
      assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red visible in output frame ${f.index}`);
      frames++;
    }
    assert.equal(frames, src.frameCount);
    assert.deepEqual(await leftovers(dir), ['in-redacted.mp4'], 'no temporary files left');
    const tags = await ffprobeJson(msg.payload);
    assert.ok(!tags.streams.some((s) => s.codec_type === 'subtitle'));
  });

  test('nothing found: the audit counts frames between detections as carried, not as detected', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { width: 160, height: 120, rate: 15, duration: 2, audio: 0 });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 4, prompt: 'green' }));
    const strides = new Set<number>();
    helper.getNode('hider').on('input', (m: { segmentation: { strides: { others: number } } }) => strides.add(m.segmentation.strides.others));
    const done = nextMessage<Done>(helper.getNode('out'), 60_000);
    helper.getNode('splitter').receive({ payload: input });
    const msg = await done;
    const { fresh, carried } = msg.video.detections;
    assert.equal(fresh + carried, msg.video.frames);
    // Stride 4 counts at 30 fps, so this 15 fps clip is looked at as often in time: every 2nd frame, the first
    // and the last were detected (not every 4th, nor every frame); the rest carried the (empty) cover.
    assert.ok(fresh <= Math.ceil(msg.video.frames / 2) + 1 && fresh > Math.ceil(msg.video.frames / 4) + 1, JSON.stringify(msg.video.detections));
    assert.ok(carried >= msg.video.frames / 2 - 1, JSON.stringify(msg.video.detections));
    assert.deepEqual([...strides], [2], 'msg.segmentation says what the video got');
  });

  test('variable frame rate and odd sizes survive the round trip', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { width: 161, height: 121, rate: 15, duration: 2, audio: 1, vfr: true });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 3 }));
    const done = nextMessage<Done>(helper.getNode('out'), 60_000);
    helper.getNode('splitter').receive({ payload: input });
    const msg = await done;
    const [a, b] = [await framePts(input), await framePts(msg.payload)];
    assert.equal(b.length, a.length);
    a.forEach((t, i) => assert.ok(Math.abs(t - b[i]) < 0.002, `frame ${i} at ${b[i]} instead of ${t}`));
    const out = await probeVideo(msg.payload);
    assert.deepEqual([out.width, out.height], [162, 122], 'padded to even, not rescaled');
  });

  test('an inference host killed mid-video fails the job: no output, no temp file, no ffmpeg left', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 3 });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 2, onDetectionError: 'fail' }));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 60_000);
    let finished = false;
    helper.getNode('out').on('input', () => (finished = true));
    const model = helper.getNode('model') as unknown as { shared: { current?: { host: { kill(): void } } } };
    helper.getNode('encoder').once('call:status', () => model.shared.current?.host.kill());
    helper.getNode('splitter').receive({ payload: input });
    const err = await caught;
    assert.match(err.error.message, /inference host was killed/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(finished, false);
    assert.deepEqual(await leftovers(dir), [], 'no output and no temporary file');
    assert.deepEqual(liveProcessIds(), [], 'no ffmpeg process left running');
  });

  test('with the default "hide its frames", a killed host still finishes a fully covered video', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 2 });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 2 }));
    const done = nextMessage<Done>(helper.getNode('out'), 60_000);
    const model = helper.getNode('model') as unknown as { shared: { current?: { host: { kill(): void } } } };
    // Killed as the first frame goes on: the detections of the frames after it fail.
    helper.getNode('hider').once('input', () => model.shared.current?.host.kill());
    helper.getNode('splitter').receive({ payload: input });
    const msg = await done;
    const reader = await openFrameReader(msg.payload);
    for await (const f of reader) assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red in frame ${f.index}`);
    // The frames hidden whole are counted, with why: the audit says so.
    const whole = msg.video.coveredWhole;
    assert.ok(whole && whole.frames > 0 && whole.frames <= msg.video.frames, JSON.stringify(msg.video));
    assert.match(whole.because.join('; '), /inference host was killed/);
  });

  test('a prompt no installed model answers fails a video before its first frame, with the reason a photo gets', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 2 });
    const noSam3 = path.join(dir, 'no-sam3-here');
    // The default "hide its frames": a missing model is not a failed detection, and is not hidden frame by frame.
    const nodesOf = flow(noSam3, { prompt: 'computer screen' });
    nodesOf.push({ id: 'photo-seg', type: 'sam3-segment', z: 'tab1', model: 'model', prompts: [{ text: 'computer screen' }], wires: [[]] });
    await helper.load([...nodes, ...core], nodesOf);
    let frames = 0;
    helper.getNode('hider').on('input', () => frames++);
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 60_000);
    helper.getNode('splitter').receive({ payload: input });
    const videoError = (await caught).error.message;
    const photoCaught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 60_000);
    helper.getNode('photo-seg').receive({ payload: { data: new Uint8Array(64 * 48 * 3), width: 64, height: 48, channels: 3 } });
    const photoError = (await photoCaught).error.message;
    assert.match(videoError, /computer screen/);
    assert.equal(videoError, photoError);
    assert.equal(frames, 0, 'no frame went on to be hidden whole');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await leftovers(dir), [], 'no output, no temporary file');
  });

  test("a privacy zone is hidden in every frame, and the video's result names it", async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 2 });
    // The left third of the frame, whatever moves through it.
    await helper.load([...nodes, ...core], flow(modelDir, { zones: [{ name: 'driveway', points: [[0, 0], [0.33, 0], [0.33, 1], [0, 1]] }] }));
    const done = nextMessage<Done>(helper.getNode('out'), 60_000);
    helper.getNode('splitter').receive({ payload: input });
    const msg = await done;
    assert.deepEqual(msg.video.zones, ['driveway']);
    let frames = 0;
    for await (const f of await openFrameReader(msg.payload)) {
      const { data, width, height } = f.frame;
      let notBlue = 0;
      // Inside the zone, away from its soft edge (x264 moves colours a little: "blue" within a tolerance).
      for (let y = 2; y < height - 2; y++) for (let x = 2; x < Math.floor(width * 0.33) - 6; x++) {
        const p = (y * width + x) * 3;
        if (!(data[p] < 40 && data[p + 1] < 40 && data[p + 2] > 200)) notBlue++;
      }
      assert.equal(notBlue, 0, `frame ${f.index}: the zone is filled`);
      frames++;
    }
    assert.equal(frames, msg.video.frames);
  });

  test('a flow without mask-blur stops before writing an unredacted frame', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 1 });
    await helper.load([...nodes, ...core], flow(modelDir, { noBlur: true }));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 30_000);
    helper.getNode('splitter').receive({ payload: input });
    // The test runtime shows message keys untranslated; the English text is in locales/en-US/video-encode.json.
    assert.match((await caught).error.message, /reached video-encode without passing mask-blur/);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await leftovers(dir), []);
  });

  test('a lost frame makes the job time out and fail closed instead of hanging', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 2 });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 1, window: 8, stallTimeout: 2, dropFrame: 5 }));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 30_000);
    helper.getNode('splitter').receive({ payload: input });
    assert.match((await caught).error.message, /no frame reached video-encode for 2 s/);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await leftovers(dir), []);
  });

  test('a window smaller than the stride needs is refused with a clear error', async () => {
    const dir = tempDir();
    // At 30 fps: a stride counts as set (a slower clip is looked at more often, and needs fewer frames held).
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 1, rate: 30 });
    await helper.load([...nodes, ...core], flow(modelDir, { stride: 10, window: 8 }));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 30_000);
    helper.getNode('splitter').receive({ payload: input });
    assert.match((await caught).error.message, /detecting every 10 frames, with tracks held 3 frames either side, needs 12 frames in flight .*but video-split's window holds 8 frames/);
  });

  test('a file that is not a video reaches the Catch node', async () => {
    const dir = tempDir();
    const bogus = path.join(dir, 'in.mp4');
    await fs.writeFile(bogus, 'not a video');
    await helper.load([...nodes, ...core], flow(modelDir));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 30_000);
    helper.getNode('splitter').receive({ payload: bogus });
    assert.match((await caught).error.message, /in\.mp4/);
  });

  test('a frame of a video job this flow never started is an error (UNKNOWN_JOB) at sam3-segment and video-encode; a frame of an ended job ends silently', async () => {
    const dir = tempDir();
    const input = await makeClip(path.join(dir, 'in.mp4'), { duration: 1 });
    await helper.load([...nodes, ...core], flow(modelDir));
    const caught: Array<{ error: { message: string; code?: string; source: { id: string } } }> = [];
    helper.getNode('caught').on('input', (m: (typeof caught)[number]) => caught.push(m));
    const frame = { data: Buffer.alloc(160 * 120 * 3), width: 160, height: 120, channels: 3 };
    for (const id of ['seg', 'encoder']) helper.getNode(id).receive({ payload: frame, parts: { id: 'never-started', index: 0, type: 'video' }, redaction: {} });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(caught.map((c) => [c.error.source.id, c.error.code]).sort(), [['encoder', 'UNKNOWN_JOB'], ['seg', 'UNKNOWN_JOB']]);
    assert.match(caught[0].error.message, /belongs to video job never-started, which this flow never started/);

    // A real job, then one of its frames again after it ended: no error.
    let ended: string | undefined;
    helper.getNode('seg').on('input', (m: { parts?: { id?: string } }) => (ended ??= m.parts?.id === 'never-started' ? undefined : m.parts?.id));
    const out = nextMessage<Done>(helper.getNode('out'), 60_000);
    helper.getNode('splitter').receive({ payload: input, outputPath: path.join(dir, 'out.mp4') });
    await out;
    assert.ok(ended, 'the job id seen on its frames');
    caught.length = 0;
    for (const id of ['seg', 'encoder']) helper.getNode(id).receive({ payload: frame, parts: { id: ended, index: 3, type: 'video' }, redaction: {} });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(caught, [], 'a late frame of an ended job is dropped without a word');
  });
});
