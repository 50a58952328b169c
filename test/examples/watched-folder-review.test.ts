/**
 * examples/watched-folder-review.json: photos dropped in the folder wait for
 * a person. While one waits its claim is parked (the folder's time limit
 * does not fail it, a restart keeps it waiting); approved, it comes out with
 * the reviewer's corrections and an audit that names them; rejected, the
 * original goes to failed/ with the reviewer's reason.
 */
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import type { Rect } from '../helpers/images';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { waitFor } from '../e2e/harness';
import { textured } from '../helpers/textured';

const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'watched-folder-review.json');
const ours = ['sam3-model', 'sam3-segment', 'redaction-review', 'mask-blur', 'video-split', 'video-encode', 'watch-folder'].map(nodeModule);
const core = ['function/15-change.js', 'function/10-switch.js', 'common/25-catch.js'].map(coreNode);

interface Res { status: number; body: unknown }
interface Agent {
  get(url: string): PromiseLike<Res>;
  post(url: string): { send(body: object): PromiseLike<Res> };
}
const request = (): Agent => (helper as unknown as { request(): Agent }).request();
type Item = { id: string; file?: string; detections: Array<{ label: string }> };

const W = 200, H = 140;
const red: Rect = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red };
const green: Rect = { x: 120, y: 80, width: 50, height: 40, rgb: FIXTURE_COLOURS.green };

const exists = (p: string): Promise<boolean> => fs.access(p).then(() => true, () => false);

describe('examples/watched-folder-review.json', () => {
  useNodeRed();
  const saved = { ...process.env };
  let work: string, inbox: string, out: string, png: Buffer;
  let flow: FlowNode[];
  before(async () => {
    work = tempDir();
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    inbox = path.join(work, 'in');
    out = path.join(work, 'out');
    await fs.mkdir(inbox, { recursive: true });
    Object.assign(process.env, { SAM3_MODEL_DIR: modelDir, REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red, green' });
    helper.settings({ userDir: path.join(work, 'user'), uiHost: '127.0.0.1' });
    flow = JSON.parse(readFileSync(example, 'utf8')) as FlowNode[];
    for (const n of flow) {
      if (n.type === 'mask-blur') Object.assign(n, { mode: 'fill', fillColor: '#0000ff' });
      // A short time limit: a parked photo must outlive it.
      if (n.type === 'watch-folder') Object.assign(n, { timeout: 2, stability: 0.3 });
    }
    png = await sharp(Buffer.from(textured(W, H, [red, green]).data), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  });
  after(() => {
    process.env = saved;
  });

  const drop = async (name: string): Promise<void> => {
    await fs.writeFile(path.join(work, name), png);
    await fs.rename(path.join(work, name), path.join(inbox, name));
  };
  const waiting = (name: string): Promise<Item> =>
    waitFor(`${name} in the review queue`, async () => ((await request().get('/redaction-review/items')).body as { items: Item[] }).items.find((i) => i.file === name));

  test('a waiting photo outlives the time limit; approved, it is redacted as corrected and the audit names the reviewer and each change', async () => {
    await helper.load([...ours, ...core], flow);
    await drop('a.png');
    const item = await waiting('a.png');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await exists(path.join(inbox, 'failed', 'a.png')), false, 'the time limit does not run while it waits');

    const keep = item.detections.map((d) => d.label !== 'green');
    const added = [{ type: 'polygon', points: [[150, 10], [190, 10], [190, 40]] }];
    const res = await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'approve', keep, added, note: 'green is the logo' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitFor('a.png in done/', () => exists(path.join(inbox, 'done', 'a.png')));
    const raw = await sharp(path.join(out, 'a.png')).removeAlpha().raw().toBuffer();
    const blue = (x: number, y: number): boolean => raw[(y * W + x) * 3 + 2] === 255 && raw[(y * W + x) * 3] === 0;
    assert.ok(blue(red.x + 30, red.y + 20), 'the red instance is hidden');
    assert.ok(blue(185, 15), 'the drawn polygon is hidden');
    assert.ok(!blue(green.x + 25, green.y + 20), 'the instance turned off is visible');
    const audit = JSON.parse(await fs.readFile(path.join(out, 'a.png.audit.json'), 'utf8')) as { review: { decision: string; reviewer: string; note: string; changes: Array<{ change: string; label?: string; shape?: string }> } };
    assert.equal(audit.review.decision, 'approved');
    assert.equal(audit.review.reviewer, 'anonymous');
    assert.equal(audit.review.note, 'green is the logo');
    assert.deepEqual(audit.review.changes.map((c) => `${c.change} ${c.label ?? c.shape}`), ['removed green', 'added polygon']);
  });

  test('rejected, the original goes to failed/ with the reviewer and the reason', async () => {
    await helper.load([...ours, ...core], flow);
    await drop('b.png');
    const item = await waiting('b.png');
    assert.equal((await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'reject', note: 'not our camera' })).status, 200);
    const error = path.join(inbox, 'failed', 'b.png.error.txt');
    await waitFor('b.png in failed/', () => exists(error));
    assert.match(await fs.readFile(error, 'utf8'), /^rejected in review by anonymous: not our camera/);
    assert.equal(await exists(path.join(out, 'b.png')), false, 'no output');
  });

  test('a restart keeps the photo waiting, under its claim, and it can be approved after', async () => {
    await helper.load([...ours, ...core], flow);
    await drop('c.png');
    const item = await waiting('c.png');
    await helper.unload();
    await helper.load([...ours, ...core], flow);
    assert.equal((await waiting('c.png')).id, item.id, 'the same item waits');
    // The claim is taken up again shortly after the start; until then a decision is refused, not lost.
    await waitFor('the approval to be taken', async () => {
      const res = await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'approve' });
      if (res.status === 409) return false;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return true;
    }, 30_000);
    await waitFor('c.png in done/', () => exists(path.join(inbox, 'done', 'c.png')));
    const audit = JSON.parse(await fs.readFile(path.join(out, 'c.png.audit.json'), 'utf8')) as { attempt: number; review: { decision: string } };
    assert.equal(audit.review.decision, 'approved');
    assert.equal(audit.attempt, 1, 'waiting for review is not a failed attempt');
  });
});
