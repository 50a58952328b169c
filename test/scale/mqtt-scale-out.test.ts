/**
 * Scale-out: two Node-RED instances run the MQTT example flow against one
 * mosquitto broker; the MQTT v5 shared subscription splits 100 requests
 * between them. Every job must be answered, none lost. Needs Debian's
 * mosquitto (.ci/run installs it); run with `npm run test:scale`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { collectJson, connect } from '../helpers/mqtt';
import { freePort, startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';
import { tempDir } from '../helpers/temp';
import { textured } from '../helpers/textured';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'mqtt-redaction.json');

test('two instances on one broker split 100 requests through a shared subscription, none lost', { skip: !MOSQUITTO && !process.env.CI ? 'mosquitto is not installed (apt-get install mosquitto)' : false, timeout: 300_000 }, async () => {
  assert.ok(MOSQUITTO, 'mosquitto must be installed in CI');
  const work = tempDir();
  const port = await freePort();
  await fs.writeFile(path.join(work, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const broker = spawn(MOSQUITTO, ['-c', path.join(work, 'mosquitto.conf')], { stdio: 'ignore' });
  const instances: NodeRedProcess[] = [];
  try {
    await new Promise((r) => setTimeout(r, 500));
    const url = `mqtt://127.0.0.1:${port}`;
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    const out = path.join(work, 'out');
    const photo = path.join(work, 'photo.png');
    const frame = textured(160, 120, [{ x: 20, y: 20, width: 50, height: 40, rgb: FIXTURE_COLOURS.red }]);
    await sharp(Buffer.from(frame.data), { raw: { width: 160, height: 120, channels: 3 } }).png().toFile(photo);
    const flows = JSON.parse(readFileSync(example, 'utf8')) as object[];
    for (const name of ['a', 'b']) {
      instances.push(
        await startNodeRed(path.join(work, `node-red-${name}`), flows, {
          MQTT_URL: url, SAM3_MODEL_DIR: modelDir, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red', REDACT_INSTANCE: name,
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1500)); // both subscriptions in place
    const client = await connect(url);
    try {
      const results = collectJson<{ jobId: string; ok: boolean; instance: string; error?: string }>(client, 'redact/result', (got) => new Set(got.map((g) => g.jobId)).size >= 100, 240_000);
      for (let i = 0; i < 100; i++) await client.publishAsync('redact/request', JSON.stringify({ jobId: `job-${i}`, path: photo }), { qos: 1 });
      const got = await results;
      const answered = new Map(got.map((g) => [g.jobId, g]));
      assert.equal(answered.size, 100, 'every job answered');
      const failed = [...answered.values()].filter((g) => !g.ok);
      assert.deepEqual(failed, [], 'no job failed');
      const split = { a: got.filter((g) => g.instance === 'a').length, b: got.filter((g) => g.instance === 'b').length };
      console.log(`scale-out split: instance a ${split.a}, instance b ${split.b} of ${got.length} results`);
      assert.ok(split.a > 0 && split.b > 0, `both instances took work: ${JSON.stringify(split)}`);
      assert.equal((await fs.readdir(out)).length, 100, 'one output per job');
    } finally {
      await client.endAsync();
    }
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
    broker.kill();
  }
});
