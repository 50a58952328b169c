/**
 * redaction-review through its HTTP API (what the review page calls): an
 * image waits on disk, readable only by the Node-RED user; a reviewer's
 * decision comes out as corrected detections that mask-blur hides; a reject
 * goes to the second output; the queue survives a restart and is bounded;
 * images are not served to a network without adminAuth.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import type { Rect } from '../helpers/images';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { textured } from '../helpers/textured';

const nodes = ['sam3-model', 'sam3-segment', 'redaction-review', 'mask-blur'].map(nodeModule).concat([coreNode('common/25-catch.js')]);
const W = 240, H = 160;
const red: Rect = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red };
const green: Rect = { x: 150, y: 90, width: 50, height: 40, rgb: FIXTURE_COLOURS.green };
/** Something detection does not know about, which the reviewer draws a box over. */
const missed = { x: 120, y: 10, width: 40, height: 30 };

interface Res { status: number; body: unknown; headers: Record<string, string> }
interface Agent {
  get(url: string): PromiseLike<Res> & { buffer(on: boolean): PromiseLike<Res> };
  post(url: string): { send(body: object): PromiseLike<Res> };
}
const request = (): Agent => (helper as unknown as { request(): Agent }).request();

type Item = { id: string; file?: string; detections: Array<{ label: string }> };
type Out = { payload: Buffer; detections: Array<{ label: string; backend?: string }>; review: { decision: string; reviewer: string; changes: Array<{ change: string; label?: string }>; removed: unknown[] }; redaction?: { review?: { reviewer: string; changes: unknown[] } }; error?: { message: string } };

function flow(modelDir: string, review: Record<string, unknown> = {}): FlowNode[] {
  return inTab([
    { id: 'model', type: 'sam3-model', modelDir },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }, { text: 'green' }], wires: [['review']] },
    { id: 'review', type: 'redaction-review', wires: [['blur'], ['rejected']], ...review },
    { id: 'blur', type: 'mask-blur', mode: 'fill', fillColor: '#0000ff', labels: 'red, green', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'rejected', type: 'helper' },
    ...catchAll,
  ]);
}

async function items(): Promise<Item[]> {
  const res = await request().get('/redaction-review/items');
  assert.equal(res.status, 200);
  return (res.body as { items: Item[] }).items;
}

async function waitForItems(n: number): Promise<Item[]> {
  for (let i = 0; i < 200; i++) {
    const list = await items();
    if (list.length >= n) return list;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${n} items never queued`);
}

const blue = (raw: Buffer, x: number, y: number): boolean => {
  const p = (y * W + x) * 3;
  return raw[p] === 0 && raw[p + 1] === 0 && raw[p + 2] === 255;
};

describe('redaction-review node', () => {
  useNodeRed();
  let modelDir: string;
  let userDir: string;
  let png: Buffer;
  before(async () => {
    modelDir = path.join(tempDir(), 'model');
    await buildFixtureModel(modelDir);
    userDir = tempDir();
    helper.settings({ userDir, uiHost: '127.0.0.1' });
    png = await sharp(Buffer.from(textured(W, H, [red, green]).data), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  });
  after(() => helper.settings({ uiHost: undefined }));

  test('an image waits, private on disk; approved with one instance off and a missed region drawn, mask-blur hides exactly that', async () => {
    await helper.load(nodes, flow(modelDir));
    helper.getNode('seg').receive({ payload: png, filename: '/in/street.png' });
    const [item] = await waitForItems(1);
    assert.equal(item.file, 'street.png');
    assert.deepEqual(item.detections.map((d) => d.label).sort(), ['green', 'red']);
    // Unredacted: folders 0700, files 0600.
    const folder = path.join(userDir, 'redaction-review', 'review', item.id);
    assert.equal((await fs.stat(folder)).mode & 0o777, 0o700);
    for (const f of await fs.readdir(folder)) assert.equal((await fs.stat(path.join(folder, f))).mode & 0o777, 0o600, f);
    const image = await request().get(`/redaction-review/items/${item.id}/image`).buffer(true);
    assert.equal(image.status, 200);
    assert.ok(Buffer.compare(image.body as Buffer, png) === 0, 'the image as it came');

    const keep = item.detections.map((d) => d.label !== 'green');
    const added = [{ type: 'box', box: [missed.x, missed.y, missed.x + missed.width, missed.y + missed.height] }];
    const preview = await request().post(`/redaction-review/items/${item.id}/preview`).send({ keep, added });
    assert.equal(preview.status, 200);
    assert.match(preview.headers['content-type'], /image\/jpeg/);

    const got = nextMessage<Out>(helper.getNode('out'));
    const decided = await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'approve', keep, added });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    const msg = await got;
    const raw = await sharp(msg.payload).removeAlpha().raw().toBuffer();
    assert.ok(blue(raw, red.x + 30, red.y + 20), 'the kept instance is hidden');
    assert.ok(blue(raw, missed.x + 20, missed.y + 15), 'the drawn region is hidden, though mask-blur keeps only red and green');
    assert.ok(!blue(raw, green.x + 25, green.y + 20), 'the instance turned off stays visible');
    assert.equal(msg.review.decision, 'approved');
    assert.equal(msg.review.reviewer, 'anonymous');
    assert.deepEqual(msg.review.changes.map((c) => c.change), ['removed', 'added']);
    assert.equal(msg.review.removed.length, 1);
    assert.deepEqual(msg.redaction?.review?.changes, msg.review.changes, 'msg.redaction records the review');
    assert.equal(msg.detections.find((d) => d.backend === 'review')?.label, 'added in review');
    assert.deepEqual(await items(), [], 'decided: out of the queue');
    await assert.rejects(fs.access(folder), 'and off the disk');
  });

  test('a reject goes to the second output with msg.error; a decision on an unknown item is a 404', async () => {
    await helper.load(nodes, flow(modelDir));
    helper.getNode('seg').receive({ payload: png });
    const [item] = await waitForItems(1);
    const got = nextMessage<Out>(helper.getNode('rejected'));
    const res = await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'reject', note: 'wrong camera' });
    assert.equal(res.status, 200);
    const msg = await got;
    assert.equal(msg.review.decision, 'rejected');
    assert.match(msg.error?.message ?? '', /rejected in review by anonymous: wrong camera/);
    assert.equal((await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'approve' })).status, 404);
  });

  test('the queue survives a restart, and is bounded: a full one fails new images to Catch', async () => {
    await helper.load(nodes, flow(modelDir, { maxItems: 1 }));
    helper.getNode('seg').receive({ payload: png });
    const [item] = await waitForItems(1);
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'), 30_000);
    helper.getNode('seg').receive({ payload: png });
    assert.match((await caught).error.message, /review queue is full \(1 of 1 images/);

    await helper.unload();
    await helper.load(nodes, flow(modelDir, { maxItems: 1 }));
    const after = await waitForItems(1);
    assert.deepEqual(after.map((i) => i.id), [item.id], 'the same image waits after the restart');
    const got = nextMessage<Out>(helper.getNode('out'));
    assert.equal((await request().post(`/redaction-review/items/${item.id}/decision`).send({ decision: 'approve' })).status, 200);
    assert.equal((await got).review.decision, 'approved');
  });

  test('auto-approve above a score, pass images with nothing found, and decide by time-out', async () => {
    await helper.load(nodes, flow(modelDir, { autoApprove: true, autoApproveAbove: 0.5 }));
    const auto = nextMessage<Out>(helper.getNode('out'));
    helper.getNode('seg').receive({ payload: png });
    assert.equal((await auto).review.decision, 'auto-approved');
    await helper.unload();

    const plain = await sharp({ create: { width: W, height: H, channels: 3, background: '#808080' } }).png().toBuffer();
    await helper.load(nodes, flow(modelDir, { showEmpty: false }));
    const passed = nextMessage<Out>(helper.getNode('out'));
    helper.getNode('seg').receive({ payload: plain });
    assert.equal((await passed).review.decision, 'passed');
    await helper.unload();

    await helper.load(nodes, flow(modelDir, { timeout: 1, timeoutOutcome: 'reject' }));
    const timedOut = nextMessage<Out>(helper.getNode('rejected'), 20_000);
    helper.getNode('seg').receive({ payload: plain });
    const msg = await timedOut;
    assert.equal(msg.review.reviewer, 'time-out');
  });

  test('without adminAuth, on more than loopback, images and previews are not served', async () => {
    helper.settings({ uiHost: undefined });
    try {
      await helper.load(nodes, flow(modelDir));
      helper.getNode('seg').receive({ payload: png });
      const [item] = await waitForItems(1);
      const listed = await request().get('/redaction-review/items');
      assert.equal((listed.body as { imagesServed: { ok: boolean } }).imagesServed.ok, false);
      const image = await request().get(`/redaction-review/items/${item.id}/image`);
      assert.equal(image.status, 403);
      assert.match((image.body as { error: string }).error, /no adminAuth and listens on every address/);
      assert.equal((await request().post(`/redaction-review/items/${item.id}/preview`).send({})).status, 403);
    } finally {
      helper.settings({ uiHost: '127.0.0.1' });
    }
  });
});
