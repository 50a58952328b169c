/**
 * samexporter's SAM 3 layout (AnyLabeling) through the same engine API and
 * nodes as usls' split, on a fixture built in exactly that layout
 * (test/fixtures/samexporter-model.ts).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { rleToBoxMask } from '../../src/common/rle';
import type { Instance, RawFrame } from '../../src/common/types';
import { RedactionEngine } from '../../src/engine';
import { ClipTokenizer } from '../../src/engine/sam3/tokenizer';
import { FIXTURE_EOT } from '../fixtures/fixture-model';
import { buildSamexporterFixture } from '../fixtures/samexporter-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';

const W = 200, H = 120;
const RED = { x: 30, y: 20, width: 60, height: 40 };

/** A grey frame with one red rectangle. */
function scene(): RawFrame {
  const data = Buffer.alloc(W * H * 3, 200);
  for (let y = RED.y; y < RED.y + RED.height; y++) for (let x = RED.x; x < RED.x + RED.width; x++) data.set([255, 0, 0], (y * W + x) * 3);
  return { data, width: W, height: H, channels: 3 };
}

/** Share of the red rectangle's pixels inside the instance's mask. */
function covered(inst: Instance): number {
  const m = rleToBoxMask(inst.mask);
  assert.ok(m);
  let n = 0;
  for (let y = RED.y; y < RED.y + RED.height; y++) {
    for (let x = RED.x; x < RED.x + RED.width; x++) {
      if (x >= m.x && x < m.x + m.width && y >= m.y && y < m.y + m.height && m.data[(y - m.y) * m.width + (x - m.x)]) n++;
    }
  }
  return n / (RED.width * RED.height);
}

const NO_BUNDLED = { faceModel: false, objectModel: false, textModels: false } as const;

describe("samexporter's layout", () => {
  let dir: string;
  before(async () => {
    dir = path.join(tempDir(), 'samexporter');
    await buildSamexporterFixture(dir);
  });

  test('loads through the same engine API and finds what the prompt names, masks from the full-size output', async () => {
    const engine = await RedactionEngine.load({ modelDir: dir, ...NO_BUNDLED });
    try {
      assert.equal(engine.sam3?.files.layout, 'samexporter');
      const r = await engine.segment(scene(), 'red, green');
      assert.equal(r.instances.length, 1, JSON.stringify(r.instances.map((i) => i.label)));
      const [red] = r.instances;
      assert.equal(red.label, 'red');
      assert.equal(red.backend, 'sam3');
      // The fixture sees 3.5 px cells: its mask may miss a pixel of the edge, which mask-blur's growth covers.
      assert.ok(covered(red) > 0.9, `the red rectangle is in the mask (${covered(red).toFixed(3)})`);
      // Tiles: the decoder is told each tile's own size, and its masks land where the tile lies.
      const tiled = await engine.segment(scene(), 'red', { tiles: 2 });
      assert.ok(tiled.instances.some((i) => i.label === 'red' && covered(i) > 0.9));
    } finally {
      await engine.close();
    }
  });

  test('a threshold below the built-in 0.5 cannot be honoured, and the result says so', async () => {
    const engine = await RedactionEngine.load({ modelDir: dir, ...NO_BUNDLED });
    try {
      const r = await engine.segment(scene(), [{ text: 'red', threshold: 0.2 }, { text: 'green', threshold: 0.7 }]);
      assert.deepEqual(r.backends.red, [{ backend: 'sam3', threshold: 0.5, asked: 0.2, note: 'this SAM 3 export (samexporter) keeps only scores above 0.5 inside its decoder' }]);
      assert.deepEqual(r.backends.green, [{ backend: 'sam3', threshold: 0.7 }], 'a threshold above it is used as asked');
    } finally {
      await engine.close();
    }
  });

  test('prompts are padded with 0, as its text encoder needs: padded with the end token, nothing would be found', async () => {
    const tokenizer = await ClipTokenizer.load(path.join(dir, 'tokenizer.json'), undefined, 32, 0);
    const good = tokenizer.encode('red');
    assert.equal(good.length, 3);
    assert.deepEqual([...good.inputIds.slice(3)], new Array<bigint>(29).fill(0n));
    // The fixture itself tells the two apart, so a wrong pad fails the test above.
    const text = await ort.InferenceSession.create(path.join(dir, 'sam3_language_encoder.onnx'));
    const masked = async (ids: BigInt64Array): Promise<number> => {
      const out = await text.run({ tokens: new ort.Tensor('int64', ids, [1, 32]) });
      return [...(out.text_attention_mask.data as Uint8Array)].filter(Boolean).length;
    };
    const wrong = good.inputIds.slice();
    wrong.fill(BigInt(FIXTURE_EOT), 3);
    assert.equal(await masked(good.inputIds), 29, 'the 29 padding positions are masked');
    assert.equal(await masked(wrong), 0, 'padding with the end token masks nothing');
    await text.release();
  });

  test('a folder without tokenizer.json fails to load with what to place there', async () => {
    const bare = path.join(tempDir(), 'bare');
    await buildSamexporterFixture(bare, { noTokenizer: true });
    const engine = await RedactionEngine.load({ modelDir: bare, ...NO_BUNDLED }).catch((err: Error) => err);
    const reason = engine instanceof Error ? engine.message : engine.capabilities().sam3Reason ?? '';
    if (!(engine instanceof Error)) await engine.close();
    assert.match(reason, /missing tokenizer\.json\. samexporter's export ships no tokenizer\.json: place CLIP's/);
  });

  describe('in sam3-segment', () => {
    useNodeRed();
    test("msg.segmentation says which threshold each prompt got, and why", async () => {
      await helper.load([nodeModule('sam3-model'), nodeModule('sam3-segment'), coreNode('common/25-catch.js')], inTab([
        { id: 'model', type: 'sam3-model', modelDir: dir },
        { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red', threshold: '0.3' }], wires: [['out']] },
        { id: 'out', type: 'helper' },
        ...catchAll,
      ]));
      const got = nextMessage<{ detections: Instance[]; segmentation: { backends: Record<string, Array<{ threshold: number; asked?: number; note?: string }>> } }>(helper.getNode('out'), 60_000);
      helper.getNode('seg').receive({ payload: scene() });
      const msg = await got;
      assert.equal(msg.detections.length, 1);
      assert.equal(msg.segmentation.backends.red[0].threshold, 0.5);
      assert.equal(msg.segmentation.backends.red[0].asked, 0.3);
      assert.match(msg.segmentation.backends.red[0].note ?? '', /samexporter/);
    });
  });
});
