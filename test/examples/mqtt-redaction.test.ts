import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { collectJson, connect, startBroker, type TestBroker } from '../helpers/mqtt';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { roughness, textured } from '../helpers/textured';
import { makeClip } from '../video/support/clips';

const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'mqtt-redaction.json');
const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule);
const core = ['network/10-mqtt.js', 'function/15-change.js', 'function/10-switch.js', 'common/25-catch.js'].map(coreNode);

interface Result { jobId: string | null; ok: boolean; output?: string; error?: string; instances?: Record<string, { instances: number }>; ms?: number }

describe('examples/mqtt-redaction.json', () => {
  useNodeRed();
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => broker.close());

  test('requests over MQTT are redacted and answered by job id; a repeated request gives the same answer; bad ones get an error result', async () => {
    const work = tempDir();
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    const out = path.join(work, 'out');
    Object.assign(process.env, { SAM3_MODEL_DIR: modelDir, REDACT_OUTPUT_DIR: out, MQTT_URL: broker.url, REDACT_PROMPTS: 'red' });
    const flow = JSON.parse(readFileSync(example, 'utf8')) as FlowNode[];
    // The embedded broker speaks MQTT 3.1.1 without shared subscriptions; the shared-subscription
    // scale-out runs against mosquitto (npm run test:scale). Same flow otherwise.
    for (const n of flow) {
      if (n.type === 'mqtt-broker') n.protocolVersion = '4';
      if (n.type === 'mqtt in') n.topic = 'redact/request';
      if (n.type === 'mask-blur') n.mode = 'fill';
    }
    await helper.load([...ours, ...core], flow);

    const W = 200, H = 140;
    const target = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red, pattern: [200, 30, 30] as [number, number, number] };
    const photo = path.join(work, 'photo.png');
    await sharp(Buffer.from(textured(W, H, [target]).data), { raw: { width: W, height: H, channels: 3 } }).png().toFile(photo);
    const clip = await makeClip(path.join(work, 'clip.mp4'), { duration: 1, audio: 1 });

    const client = await connect(broker.url);
    try {
      const results = collectJson<Result>(client, 'redact/result', (got) => got.length >= 6);
      await new Promise((r) => setTimeout(r, 300)); // the flow's subscription is in place
      const send = (req: object): Promise<unknown> => client.publishAsync('redact/request', JSON.stringify(req), { qos: 1 });
      await send({ jobId: 'job-1', path: photo });
      await send({ jobId: 'job-1', path: photo }); // QoS 1 may deliver twice
      await send({ jobId: 'job-2', path: photo, mode: 'pixelate' });
      await send({ jobId: 'vid-1', path: clip });
      await send({ jobId: 'bad-1', path: path.join(work, 'missing.png') });
      await send({ path: photo });
      const got = await results;
      const byJob = (id: string | null): Result[] => got.filter((r) => r.jobId === id);

      const [first, second] = byJob('job-1');
      assert.equal(first.ok, true);
      assert.equal(first.output, path.join(out, 'job-1.png'));
      assert.deepEqual({ ...second, ms: 0 }, { ...first, ms: 0 }, 'the same request gives the same answer');
      assert.ok((first.instances?.red.instances ?? 0) >= 1);
      const raw = await sharp(first.output).raw().toBuffer();
      assert.ok(roughness(raw, W, target) < 1, 'the red shape is filled');
      assert.equal(byJob('job-2')[0].ok, true);
      assert.equal(byJob('vid-1')[0].ok, true);
      assert.equal(byJob('vid-1')[0].output, path.join(out, 'vid-1.mp4'));
      await fs.access(path.join(out, 'vid-1.mp4'));
      const bad = byJob('bad-1')[0];
      assert.equal(bad.ok, false);
      assert.match(bad.error ?? '', /missing\.png/);
      const anonymous = byJob(null)[0];
      assert.equal(anonymous.ok, false);
      // In a real runtime: "Invalid JSONata expression: request has no jobId"; the test runtime shows message keys.
      assert.match(anonymous.error ?? '', /no jobId|change\.errors\.invalid-expr/);
      assert.deepEqual((await fs.readdir(out)).sort(), ['job-1.png', 'job-2.png', 'vid-1.mp4']);
    } finally {
      await client.endAsync();
    }
  });
});
