/**
 * Memory bounded by settings, not by what a file declares: an image file is
 * refused unread past the byte limit (a 20 KB-on-disk sparse PNG with a
 * 1.5 GB tail used to cost Node-RED 1.15 GB), and video frames in flight are
 * bounded by video-split's window memory (a 27 KB 4K clip used to cost
 * 1.5 GB). Bounds are checked as bytes (external memory, sampled), never as
 * time.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { liveProcessIds, probeVideo } from '../../src/video';
import { coreNode, forgetSpiedCalls, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { makeClip } from '../video/support/clips';
import { childPids, imageFlow, Outcomes, redImage, sleep, until, videoFlow, workWithModel } from './support';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const nodes = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule);
const core = [coreNode('common/25-catch.js')];
const MB = 1024 * 1024;

/** External memory of this process (Buffers and ArrayBuffers live there) after a full collection. */
function settledExternal(): { external: number; arrayBuffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Samples external memory every 10 ms while `work` runs; resolves with the highest growth seen. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  const base = settledExternal().external;
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().external - base);
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().external - base);
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

describe('memory bounded in bytes', () => {
  useNodeRed();
  let work: string;
  let modelDir: string;
  let clip4k: string;
  const saved = { ...process.env };
  before(async () => {
    ({ work, modelDir } = await workWithModel('sam3-memory-'));
    // Flat grey with a small moving box: a few KB on disk, 24.9 MB a frame once decoded.
    clip4k = await makeClip(path.join(work, 'uhd.mp4'), { width: 3840, height: 2160, rate: 30, duration: 0.5, audio: 1 });
  });
  after(() => {
    process.env = saved;
  });

  /** Loads the flow and waits for its models: what is measured is the work on a message, not loading the models. */
  async function load(flow: FlowNode[]): Promise<Outcomes<{ video?: { frames: number } }>> {
    await helper.unload();
    await helper.load([...nodes, ...core], flow);
    const model = helper.getNode('model') as unknown as { shared: { state: string } };
    await until(() => model.shared.state === 'ready' || model.shared.state === 'no-sam3', 60_000, 'the models to load');
    return new Outcomes(helper.getNode('out'), helper.getNode('caught'));
  }

  test('a sparse PNG that declares 1.5 GB is refused from its size, unread, at detection and at redaction', async () => {
    const file = path.join(work, 'sparse.png');
    await fs.writeFile(file, await redImage());
    await fs.truncate(file, 1536 * MB); // the tail is a hole: 20 KB on disk
    for (const entry of ['seg', 'hider'] as const) {
      const seen = await load(imageFlow(modelDir));
      const { result, peak } = await peakGrowth(async () => {
        helper.getNode(entry).receive({ payload: file, detections: [] });
        return seen.next(30_000);
      });
      assert.equal(result.sent.length, 0);
      assert.match(result.caught[0]?.error.message ?? '', /is 1536 MB, over the limit of 256 MB/, entry);
      assert.ok(peak < 32 * MB, `${entry}: external memory grew ${(peak / MB).toFixed(0)} MB reading it`);
    }
  });

  test('the byte limit is a setting (REDACT_MAX_IMAGE_BYTES, or redactMaxImageBytes in settings.js)', async () => {
    process.env.REDACT_MAX_IMAGE_BYTES = String(4096);
    try {
      const seen = await load(imageFlow(modelDir));
      helper.getNode('seg').receive({ payload: await redImage(640, 480) });
      const r = await seen.next(30_000);
      assert.match(r.caught[0]?.error.message ?? '', /over the limit of 0\.0 MB|over the limit of 4096/);
    } finally {
      delete process.env.REDACT_MAX_IMAGE_BYTES;
    }
  });

  test('4K frames: what is in flight stays within the window memory, and after the job memory and processes are back where they were', async (t) => {
    const start = settledExternal();
    const budget = 240;
    const seen = await load(videoFlow(modelDir, { stride: 2 }).map((n) => (n.type === 'video-split' ? { ...n, window: 64, windowMemory: budget } : n)));
    const { result, peak } = await peakGrowth(async () => {
      helper.getNode('splitter').receive({ payload: clip4k, outputPath: path.join(work, 'uhd-out.mp4') });
      return seen.next(120_000);
    });
    assert.equal(result.caught.length, 0, result.caught[0]?.error.message);
    assert.equal(result.sent[0]?.video?.frames, (await probeVideo(clip4k)).frameCount);
    // The window memory pays for the frames in flight and the three the reader holds; the rest
    // (views for the detector, the encoder's pipe) is small beside a 24 MB frame.
    t.diagnostic(`peak external growth ${(peak / MB).toFixed(0)} MB with ${budget} MB of window memory`);
    assert.ok(peak <= (budget + 16) * MB, `peak external growth ${(peak / MB).toFixed(0)} MB for a ${budget} MB window`);

    await until(() => liveProcessIds().length === 0, 10_000, 'the job\'s ffmpeg processes to exit');
    await sleep(200);
    await helper.unload();
    forgetSpiedCalls();
    const end = settledExternal();
    t.diagnostic(`after the job: external +${((end.external - start.external) / MB).toFixed(0)} MB, array buffers +${((end.arrayBuffers - start.arrayBuffers) / MB).toFixed(0)} MB`);
    assert.ok(end.external - start.external < 100 * MB, `external memory after the job: +${((end.external - start.external) / MB).toFixed(0)} MB`);
    assert.ok(end.arrayBuffers - start.arrayBuffers < 100 * MB, `array buffers after the job: +${((end.arrayBuffers - start.arrayBuffers) / MB).toFixed(0)} MB`);
    assert.ok(!childPids().some((pid) => liveProcessIds().includes(pid)), 'no ffmpeg child left');
  });

  test('a window memory that cannot hold what the stride needs fails the job before a frame goes out, naming the memory needed', async () => {
    for (const [memory, stride, pattern] of [
      [64, 2, /a 3840x2160 frame takes 23\.7 MB: a window of two frames and the three the reader holds ahead need 119 MB, more than the window memory of 64 MB/],
      [128, 10, /detecting every 10 frames, with tracks held 3 frames either side, needs 12 frames in flight \(12 x 23\.7 MB = 285 MB at 3840x2160\), but video-split's window holds 2 \(what 128 MB of window memory holds/],
    ] as const) {
      const seen = await load(videoFlow(modelDir, { stride }).map((n) => (n.type === 'video-split' ? { ...n, windowMemory: memory } : n)));
      helper.getNode('splitter').receive({ payload: clip4k, outputPath: path.join(work, `uhd-${memory}.mp4`) });
      const r = await seen.next(60_000);
      assert.equal(r.sent.length, 0);
      assert.equal(r.caught.length, 1, 'reported once');
      assert.match(r.caught[0].error.message, pattern);
      await assert.rejects(fs.access(path.join(work, `uhd-${memory}.mp4`)), 'no output');
    }
  });

  test('video frames over the pixel limit are refused (REDACT_MAX_PIXELS, or redactMaxPixels in settings.js)', async () => {
    process.env.REDACT_MAX_PIXELS = String(2_000_000);
    try {
      const seen = await load(videoFlow(modelDir, { stride: 2 }));
      helper.getNode('splitter').receive({ payload: clip4k, outputPath: path.join(work, 'uhd-px.mp4') });
      const r = await seen.next(30_000);
      assert.match(r.caught[0]?.error.message ?? '', /is 3840x2160, over the limit of 2000000 pixels a frame/);
    } finally {
      delete process.env.REDACT_MAX_PIXELS;
    }
  });
});
