/**
 * Text redaction in Node-RED with no SAM 3 model at all: what a fresh install
 * does. "text" is found by the bundled detector and hidden; prompts that need
 * SAM 3 fail to the Catch node; the verification pass lets a strong redaction
 * through and stops a weak one with what it read.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Instance } from '../../src/common/types';
import { catchAll, inTab } from '../helpers/catch-flow';
import { coreNode, helper, nextMessage, nodeModule, statusMatching, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { coverMap, encodePng, inkCovered, lineInk, renderScene } from './support/render';
import { DOCUMENT, TEXT_FREE } from './support/scenes';

const nodes = [nodeModule('sam3-model'), nodeModule('sam3-segment'), nodeModule('mask-blur'), coreNode('common/25-catch.js')];

type Out = {
  payload: Buffer;
  detections: Instance[];
  segmentation: { prompts: string[]; backends: Record<string, Array<{ backend: string; threshold: number }>>; modelId: string; models: Record<string, string> };
  redaction: { instances: number; perLabel: Record<string, { instances: number }>; verification?: { checked: number; legible: number } };
};
type Caught = { error: { message: string; source: { id: string } } };

describe('text redaction in Node-RED without SAM 3', () => {
  useNodeRed();
  let missingDir: string;
  let png: Buffer;
  before(async () => {
    missingDir = path.join(tempDir(), 'no-sam3-here');
    png = await encodePng(await renderScene(DOCUMENT));
  });

  function flow(segment: Record<string, unknown>, blur: Record<string, unknown> = {}): FlowNode[] {
    return inTab([
      { id: 'model', type: 'sam3-model', modelDir: missingDir },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [], wires: [['redactor']], ...segment },
      { id: 'redactor', type: 'mask-blur', wires: [['out']], ...blur },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]);
  }

  async function run(segment: Record<string, unknown>, blur: Record<string, unknown>, msg: Record<string, unknown>): Promise<{ out?: Out; caught?: Caught }> {
    await helper.load(nodes, flow(segment, blur));
    const got = nextMessage<Out>(helper.getNode('out')).then((out) => ({ out }));
    const failed = nextMessage<Caught>(helper.getNode('caught')).then((caught) => ({ caught }));
    helper.getNode('seg').receive(msg);
    return Promise.race([got, failed]);
  }

  test('the status says what can be found without SAM 3', async () => {
    await helper.load(nodes, flow({}));
    // The test runtime shows status keys rather than their English text.
    const status = await statusMatching(helper.getNode('seg'), /text-only|no SAM 3/);
    assert.equal(status.fill, 'yellow');
  });

  test('with no prompts named, the bundled detectors\' phrases are the default ("face, license plate, text"): every line is hidden, text-free pixels untouched, verified', async () => {
    const { out, caught } = await run({}, { mode: 'blur', verify: true, model: 'model' }, { payload: png });
    assert.ok(out, caught?.error.message);
    assert.deepEqual(out.segmentation.prompts, ['face', 'license plate', 'text']);
    assert.deepEqual(out.segmentation.backends.text, [{ backend: 'ocr', threshold: 0.5 }]);
    assert.deepEqual(out.segmentation.backends.face, [{ backend: 'face', threshold: 0.5 }]);
    assert.match(out.segmentation.modelId, /^sha256:/);
    assert.deepEqual(Object.keys(out.segmentation.models).sort(), ['face', 'ocr', 'plates']);
    const map = coverMap(out.detections, DOCUMENT.width, DOCUMENT.height);
    for (let i = 0; i < DOCUMENT.lines.length; i++) {
      assert.ok(inkCovered(await lineInk(DOCUMENT, i), map) >= 0.99, `"${DOCUMENT.lines[i].text}" is covered`);
    }
    assert.equal(out.redaction.perLabel.text.instances, DOCUMENT.lines.length);
    assert.deepEqual(out.redaction.verification && { ...out.redaction.verification, ms: undefined }, {
      checked: DOCUMENT.lines.length,
      unreadable: 0,
      legible: 0,
      ms: undefined,
    });
    // Every pixel of a region with no text and far from any line is as it was.
    const [a, b] = await Promise.all([png, out.payload].map((img) =>
      sharp(img).extract({ left: TEXT_FREE.x, top: TEXT_FREE.y, width: TEXT_FREE.width, height: TEXT_FREE.height }).removeAlpha().raw().toBuffer()));
    assert.ok(a.equals(b), 'text-free region changed');
  });

  test('a prompt that needs SAM 3 fails to the Catch node, saying where the model was looked for', async () => {
    const { out, caught } = await run({}, {}, { payload: png, prompt: 'computer screen, text' });
    assert.equal(out, undefined, 'nothing may be sent');
    assert.ok(caught);
    assert.equal(caught.error.source.id, 'seg');
    assert.match(caught.error.message, /"computer screen" needs the SAM 3 model/);
    assert.match(caught.error.message, /no-sam3-here/);
    assert.match(caught.error.message, /models\/README\.md/);
  });

  test('a redaction too weak to hide the text fails verification with what was read, and nothing is sent', async () => {
    // A mosaic of 2 px cells, set by hand, leaves large letters readable.
    const { out, caught } = await run({ prompts: [{ text: 'text' }] }, { mode: 'pixelate', pixelSize: 2, verify: true, model: 'model' }, { payload: png });
    assert.equal(out, undefined, 'nothing may be sent');
    assert.ok(caught);
    assert.equal(caught.error.source.id, 'redactor');
    assert.match(caught.error.message, /still legible/);
    assert.match(caught.error.message, /ZONE 60/);
  });

  test('verification without a model node chosen is an error, not a pass', async () => {
    const { out, caught } = await run({}, { verify: true }, { payload: png });
    assert.equal(out, undefined);
    assert.match(caught?.error.message ?? '', /no-verifier|no model node is chosen/);
  });
});
