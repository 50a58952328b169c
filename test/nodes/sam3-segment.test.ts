import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import { encode, paint, type Rect } from '../helpers/images';
import { coverage } from '../helpers/masks';
import { collect, coreNode, helper, nextMessage, nodeModule, statusMatching, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import type { Instance } from '../../src/common/types';

const nodes = [nodeModule('sam3-model'), nodeModule('sam3-segment'), coreNode('common/25-catch.js')];
const red: Rect = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red };
const green: Rect = { x: 140, y: 100, width: 40, height: 40, rgb: FIXTURE_COLOURS.green };

function flow(modelDir: string, extra: Record<string, unknown> = {}): FlowNode[] {
  return inTab([
    { id: 'model', type: 'sam3-model', modelDir },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red', threshold: '' }, { text: 'green', threshold: '' }], wires: [['out']], ...extra },
    { id: 'out', type: 'helper' },
    ...catchAll,
  ]);
}

describe('sam3-segment node', () => {
  useNodeRed();
  let modelDir: string;
  let image: Buffer;
  before(async () => {
    modelDir = path.join(tempDir(), 'model');
    await buildFixtureModel(modelDir);
    image = await encode(paint(200, 160, [red, green]));
  });

  test('adds detections for the configured prompts and leaves the image as it was', async () => {
    await helper.load(nodes, flow(modelDir));
    const out = helper.getNode('out');
    const got = nextMessage<{ payload: Buffer; detections: Instance[]; segmentation: { modelId: string; width: number } }>(out);
    helper.getNode('seg').receive({ payload: image });
    const msg = await got;
    assert.ok(Buffer.isBuffer(msg.payload) && msg.payload.equals(image));
    assert.deepEqual(msg.detections.map((d) => d.label).sort(), ['green', 'red']);
    const r = msg.detections.find((d) => d.label === 'red') as Instance;
    assert.ok(coverage(r.mask, red).inside > 0.9);
    assert.match(msg.segmentation.modelId, /^sha256:/);
    assert.equal(msg.segmentation.width, 200);
  });

  test('msg.prompt overrides the node prompts, and the image can come from another property', async () => {
    await helper.load(nodes, flow(modelDir, { property: 'image.data' }));
    const got = nextMessage<{ detections: Instance[] }>(helper.getNode('out'));
    helper.getNode('seg').receive({ image: { data: image }, prompt: 'green' });
    assert.deepEqual((await got).detections.map((d) => d.label), ['green']);
  });

  test('a preview image with the detections drawn is added on request', async () => {
    await helper.load(nodes, flow(modelDir, { preview: true, previewProperty: 'review' }));
    const got = nextMessage<{ review: Buffer }>(helper.getNode('out'));
    helper.getNode('seg').receive({ payload: image });
    const review = (await got).review;
    assert.ok(Buffer.isBuffer(review));
    assert.equal(review.subarray(0, 2).toString('hex'), 'ffd8', 'a JPEG');
  });

  test('a bad image reaches the Catch node and nothing is sent on', async () => {
    await helper.load(nodes, flow(modelDir));
    let sent = false;
    helper.getNode('out').on('input', () => (sent = true));
    const caught = nextMessage<{ error: { message: string; source: { id: string } } }>(helper.getNode('caught'));
    helper.getNode('seg').receive({ payload: Buffer.from('not an image') });
    const err = await caught;
    assert.match(err.error.message, /could not be decoded/);
    assert.equal(err.error.source.id, 'seg');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sent, false);
  });

  test('a missing model shows on the status (text only) and fails messages with where it looked', async () => {
    const missing = path.join(tempDir(), 'no-model-here');
    await helper.load(nodes, flow(missing));
    const seg = helper.getNode('seg');
    const status = await statusMatching(seg, /no SAM 3/);
    assert.equal(status.fill, 'yellow');
    // What is loaded, truthfully: the bundled detectors, named.
    assert.equal(status.text, 'no SAM 3: faces, people & vehicles, plates, text');
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'));
    seg.receive({ payload: image });
    const err = await caught;
    assert.match(err.error.message, /no-model-here does not exist/);
    assert.match(err.error.message, /models\/README\.md/);
  });

  test('the status names what is loaded, and keeps saying it beside the activity', async () => {
    await helper.load(nodes, flow(modelDir));
    const seg = helper.getNode('seg');
    const ready = await statusMatching(seg, /SAM 3/);
    assert.equal(ready.text, 'SAM 3 + faces, people & vehicles, plates, text');
    assert.equal(ready.fill, 'green');
    const out = nextMessage(helper.getNode('out'));
    seg.receive({ payload: image });
    await out;
    assert.match((await statusMatching(seg, /done in/)).text ?? '', /^done in \d+\.\d s \(SAM 3\)$/);

    const missing = path.join(tempDir(), 'no-model-here');
    await helper.unload();
    await helper.load(nodes, flow(missing, { prompts: [{ text: 'text' }] }));
    const seg2 = helper.getNode('seg');
    await statusMatching(seg2, /no SAM 3/);
    const out2 = nextMessage(helper.getNode('out'));
    seg2.receive({ payload: image });
    await out2;
    const after = await statusMatching(seg2, /done in/);
    assert.match(after.text ?? '', /^done in \d+\.\d s \(no SAM 3\)$/);
    assert.equal(after.fill, 'yellow', 'never the green of a loaded SAM 3');
  });

  test('many messages at once all finish, including those that arrive while the model loads', async () => {
    await helper.load(nodes, flow(modelDir));
    const out = helper.getNode('out');
    const all = collect<{ n: number; detections: Instance[] }>(out, 40);
    const seg = helper.getNode('seg');
    for (let n = 0; n < 40; n++) seg.receive({ payload: image, n });
    const msgs = await all;
    assert.deepEqual(msgs.map((m) => m.n).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
    assert.ok(msgs.every((m) => m.detections.length === 2));
  });

  test('two segment nodes share one model (one inference host)', async () => {
    await helper.load(nodes, [
      ...flow(modelDir),
      ...inTab([
        { id: 'seg2', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], wires: [['out2']] },
        { id: 'out2', type: 'helper' },
      ]).slice(1),
    ]);
    const a = nextMessage(helper.getNode('out'));
    const b = nextMessage(helper.getNode('out2'));
    helper.getNode('seg').receive({ payload: image });
    helper.getNode('seg2').receive({ payload: image });
    await Promise.all([a, b]);
    const model = helper.getNode('model') as unknown as { shared: { current?: { host: { starts: number } } } };
    assert.equal(model.shared.current?.host.starts, 1);
  });
});
