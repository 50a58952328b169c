/**
 * The seam new detectors plug into: a backend from a test-only folder
 * (test/fixtures/backend), registered with one line, is loaded into the real
 * inference host, answers its phrase through RedactionEngine and through
 * sam3-segment, can build on another backend's answer without running it
 * twice, and can keep state across the frames of one video.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Instance } from '../../src/common/types';
import { EngineSession, RedactionEngine, registerBackend } from '../../src/engine';
import { markedBackend, stripesBackend } from '../fixtures/backend/stripes';
import { catchAll, inTab } from '../helpers/catch-flow';
import { helper, nextMessage, nodeModule, useNodeRed } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';

/** Grey 200x120 with a pure green bar at x 40..140, y 50..70. */
async function greenBar(): Promise<Buffer> {
  const w = 200, h = 120;
  const data = Buffer.alloc(w * h * 3, 128);
  for (let y = 50; y < 70; y++) for (let x = 40; x < 140; x++) data.set([0, 255, 0], (y * w + x) * 3);
  return sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

describe('a new backend is one folder and one line', () => {
  const unregister: Array<() => void> = [];
  let png: Buffer;
  before(async () => {
    unregister.push(registerBackend(stripesBackend), registerBackend(markedBackend));
    png = await greenBar();
  });
  after(() => {
    for (const u of unregister) u();
  });

  test('RedactionEngine routes its phrase to it, in the one inference host; a backend that builds on it shares its run', async () => {
    const engine = await RedactionEngine.load({ textModels: false });
    try {
      assert.deepEqual(engine.capabilities().backends.stripes, { loaded: true });
      assert.notEqual(engine.host.pid, process.pid);
      const r = await engine.segment(png, 'green stripes, marked green');
      assert.deepEqual(r.backends, { 'green stripes': [{ backend: 'stripes', threshold: 0.5 }], 'marked green': [{ backend: 'marked', threshold: 0.5 }] });
      assert.deepEqual(r.instances.map((i: Instance) => [i.label, i.backend, i.box]), [
        ['green stripes', 'stripes', [40, 50, 140, 70]],
        ['marked green', 'marked', [40, 50, 140, 70]],
      ]);
      assert.equal(r.timings.stripeRuns, 1, 'asked for directly and through "marked green": run once');
      // Phrases no registered backend answers still go to SAM 3, which is not loaded here.
      await assert.rejects(engine.segment(png, 'computer screen'), /"computer screen" needs the SAM 3 model/);
    } finally {
      await engine.close();
    }
  });

  test('per-video state: a session keeps the backend\'s state across frames, a single image has none', async () => {
    const engine = await RedactionEngine.load({ textModels: false });
    try {
      const session = new EngineSession();
      let last = 0;
      for (let i = 0; i < 3; i++) last = (await engine.segment(png, 'green stripes', { session })).timings.sessionFrames;
      assert.equal(last, 3);
      assert.equal((await engine.segment(png, 'green stripes')).timings.sessionFrames, 0);
    } finally {
      await engine.close();
    }
  });

  describe('through sam3-segment', () => {
    useNodeRed();
    test('the phrase is answered by the registered backend, with its model identity in msg.segmentation', async () => {
      await helper.load(['sam3-model', 'sam3-segment'].map(nodeModule), inTab([
        { id: 'model', type: 'sam3-model', modelDir: path.join(tempDir(), 'no-sam3') },
        { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'green stripes' }], wires: [['out']] },
        { id: 'out', type: 'helper' },
        ...catchAll,
      ]));
      const out = nextMessage<{ detections: Instance[]; segmentation: { backends: Record<string, Array<{ backend: string; threshold: number }>>; models: Record<string, string> } }>(helper.getNode('out'), 30_000);
      helper.getNode('seg').receive({ payload: png });
      const msg = await out;
      assert.deepEqual(msg.detections.map((d) => [d.label, d.backend, d.box]), [['green stripes', 'stripes', [40, 50, 140, 70]]]);
      assert.deepEqual(msg.segmentation.backends, { 'green stripes': [{ backend: 'stripes', threshold: 0.5 }] });
      assert.deepEqual(msg.segmentation.models, { stripes: 'sha256:stripes-fixture' });
    });
  });
});
