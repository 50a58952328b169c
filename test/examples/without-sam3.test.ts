/**
 * Every example flow on a fresh install: no SAM 3 model, no prompts named,
 * so the installed defaults ("face, license plate, text": the bundled detectors) apply. A
 * real group photo (a labelled registry photo with three faces) goes through
 * each flow as its README describes, and comes out with its faces hidden.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { rleToBoxMask } from '../../src/common/rle';
import type { Box, Instance } from '../../src/common/types';
import { probeVideo, resolveFfmpegPath } from '../../src/video';
import { LABELS } from '../fixtures/faces/labelled';
import { collectJson, connect, startBroker, type TestBroker } from '../helpers/mqtt';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { MediaUnavailableError, npmFile } from '../helpers/registry-media';
import { tempDir } from '../helpers/temp';
import { cannotRun } from '../security/support';

const examples = path.resolve(__dirname, '..', '..', '..', 'examples');
const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode', 'watch-folder'].map(nodeModule);
const core = ['common/20-inject.js', 'function/15-change.js', 'function/10-switch.js', 'common/25-catch.js', 'storage/10-file.js', 'network/10-mqtt.js'].map(coreNode);

function load(name: string): FlowNode[] {
  const flow = JSON.parse(readFileSync(path.join(examples, name), 'utf8')) as FlowNode[];
  // Debug nodes talk to the editor, which the test runtime has not: watch their input instead.
  for (const n of flow) if (n.type === 'debug') n.type = 'helper';
  return flow;
}

function coverage(box: Box, instances: Instance[], width: number, height: number): number {
  const map = new Uint8Array(width * height);
  for (const inst of instances) {
    const m = rleToBoxMask(inst.mask);
    if (m) for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (m.data[y * m.width + x]) map[(m.y + y) * width + m.x + x] = 1;
  }
  let n = 0, all = 0;
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++, all++) n += map[y * width + x];
  return n / all;
}

describe('every example flow without SAM 3: faces hidden with the installed defaults', () => {
  useNodeRed();
  let photo: string | undefined;
  let faces: Box[] = [];
  let unavailable = '';
  let work: string;
  const saved = { ...process.env };
  before(() => {
    work = tempDir();
    const entry = LABELS.photos.find((p) => p.name === 'sample3');
    try {
      if (!entry) throw new Error('sample3 is not labelled');
      photo = npmFile(LABELS.sources[entry.source].npm as string, entry.file, entry.sha256);
      faces = entry.faces;
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
    delete process.env.REDACT_PROMPTS;
    process.env.SAM3_MODEL_DIR = path.join(work, 'no-sam3-here');
  });
  after(() => {
    process.env = saved;
  });

  test('image-redaction.json', async (t) => {
    if (!photo) return cannotRun(t, unavailable);
    const flow = load('image-redaction.json');
    Object.assign(process.env, { REDACT_INPUT: photo, REDACT_OUTPUT_DIR: path.join(work, 'image-out') });
    await helper.load([...ours, ...core], flow);
    const report = flow.find((n) => n.name === 'what was redacted') as FlowNode;
    const done = nextMessage<{ detections: Instance[]; segmentation: { prompts: string[] }; redaction: { perLabel: Record<string, { instances: number }> } }>(helper.getNode(report.id), 60_000);
    helper.getNode((flow.find((n) => n.type === 'inject') as FlowNode).id).receive({});
    const msg = await done;
    assert.deepEqual(msg.segmentation.prompts, ['face', 'license plate', 'text']);
    // The three labelled faces, and whatever else the detector took for a face (covering more is the safe side).
    assert.ok(msg.redaction.perLabel.face.instances >= 3);
    const { width = 0, height = 0 } = await sharp(photo).metadata();
    for (const box of faces) assert.ok(coverage(box, msg.detections, width, height) >= 0.95, `face [${box}] hidden`);
    await fs.access(path.join(work, 'image-out', 'redacted.jpeg'));
  });

  test('video-redaction.json', async (t) => {
    if (!photo) return cannotRun(t, unavailable);
    const clip = path.join(work, 'group.mp4');
    const made = spawnSync(resolveFfmpegPath(), ['-v', 'error', '-y', '-loop', '1', '-i', photo, '-t', '1', '-r', '10', '-vf', 'scale=960:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
    assert.equal(made.status, 0, made.stderr.toString());
    const flow = load('video-redaction.json');
    Object.assign(process.env, { REDACT_VIDEO_INPUT: clip, REDACT_OUTPUT_DIR: path.join(work, 'video-out') });
    await helper.load([...ours, ...core], flow);
    const hider = flow.find((n) => n.type === 'mask-blur') as FlowNode;
    const perFrame: number[] = [];
    helper.getNode(hider.id).on('input', (m: { detections: Instance[] }) => perFrame.push(m.detections.filter((d) => d.label === 'face' && d.backend === 'face').length));
    const report = flow.find((n) => n.type === 'helper') as FlowNode;
    const done = nextMessage<{ video: { output: string; frames: number } }>(helper.getNode(report.id), 120_000);
    helper.getNode((flow.find((n) => n.type === 'inject') as FlowNode).id).receive({});
    const msg = await done;
    assert.equal(msg.video.frames, 10);
    assert.equal((await probeVideo(msg.video.output)).frameCount, 10);
    assert.ok(perFrame.length === 10 && perFrame.every((n) => n >= 3), `the three faces on every frame: ${perFrame.join(' ')}`);
  });

  test('watched-folder-redaction.json', async (t) => {
    if (!photo) return cannotRun(t, unavailable);
    const inbox = path.join(work, 'in');
    const out = path.join(work, 'watched-out');
    await fs.mkdir(inbox, { recursive: true });
    Object.assign(process.env, { REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out });
    await helper.load([...ours, ...core], load('watched-folder-redaction.json'));
    await fs.copyFile(photo, path.join(work, 'group.jpg'));
    await fs.rename(path.join(work, 'group.jpg'), path.join(inbox, 'group.jpg'));
    const audit = path.join(out, 'group.jpg.audit.json');
    for (let i = 0; i < 600 && !(await fs.access(audit).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    const record = JSON.parse(await fs.readFile(audit, 'utf8')) as { prompts: string[]; threshold: number; instancesPerLabel: Record<string, { instances: number }>; backends: Record<string, Array<{ backend: string; threshold: number }>>; smallestFace?: number };
    assert.deepEqual(record.prompts, ['face', 'license plate', 'text']);
    // The threshold the bundled detectors used (0.5 each), not the model node's 0.3 that none of them used.
    assert.equal(record.threshold, 0.5);
    assert.ok(record.instancesPerLabel.face.instances >= 3);
    assert.deepEqual(record.backends.face, [{ backend: 'face', threshold: 0.5 }]);
    // Faces narrower than this were not looked for: the record says so.
    assert.equal(record.smallestFace, 12);
    await fs.access(path.join(inbox, 'done', 'group.jpg'));
  });

  describe('mqtt-redaction.json', () => {
    let broker: TestBroker;
    before(async () => {
      broker = await startBroker();
    });
    after(async () => broker.close());

    test('a request names no prompts: the installed defaults answer', async (t) => {
      if (!photo) return cannotRun(t, unavailable);
      const out = path.join(work, 'mqtt-out');
      Object.assign(process.env, { REDACT_OUTPUT_DIR: out, MQTT_URL: broker.url });
      const flow = load('mqtt-redaction.json');
      // The embedded broker speaks MQTT 3.1.1 without shared subscriptions (see mqtt-redaction.test.ts).
      for (const n of flow) {
        if (n.type === 'mqtt-broker') n.protocolVersion = '4';
        if (n.type === 'mqtt in') n.topic = 'redact/request';
      }
      await helper.load([...ours, ...core], flow);
      const client = await connect(broker.url);
      try {
        const results = collectJson<{ ok: boolean; error?: string; instances?: Record<string, { instances: number }> }>(client, 'redact/result', (got) => got.length >= 1);
        await new Promise((r) => setTimeout(r, 300));
        await client.publishAsync('redact/request', JSON.stringify({ jobId: 'group-1', path: photo }), { qos: 1 });
        const [result] = await results;
        assert.equal(result.ok, true, result.error);
        assert.ok((result.instances?.face.instances ?? 0) >= 3);
      } finally {
        await client.endAsync();
      }
    });
  });
});
