import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { roughness, textured } from '../helpers/textured';

const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'image-redaction.json');

describe('examples/image-redaction.json', () => {
  useNodeRed();

  test('redacts the image named by REDACT_INPUT into REDACT_OUTPUT_DIR, prompts taken from the flow', async () => {
    const work = tempDir();
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    const W = 200, H = 140;
    const target = { x: 20, y: 20, width: 80, height: 60, rgb: FIXTURE_COLOURS.red, pattern: [200, 30, 30] as [number, number, number] };
    const frame = textured(W, H, [target]);
    const input = path.join(work, 'photo.jpg');
    await sharp(Buffer.from(frame.data), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toFile(input);
    const original = await fs.readFile(input);

    const flow = JSON.parse(readFileSync(example, 'utf8')) as FlowNode[];
    // The fixture knows colours, not faces: ask it for "red" as a user would edit the prompt list.
    const seg = flow.find((n) => n.type === 'sam3-segment') as FlowNode;
    seg.prompts = [{ text: 'red', threshold: '' }];
    // Debug nodes talk to the editor, which the test runtime has not: watch their input instead.
    for (const n of flow) if (n.type === 'debug') n.type = 'helper';
    Object.assign(process.env, { SAM3_MODEL_DIR: modelDir, REDACT_INPUT: input, REDACT_OUTPUT_DIR: path.join(work, 'out') });

    await helper.load(
      [nodeModule('sam3-model'), nodeModule('sam3-segment'), nodeModule('mask-blur'), coreNode('common/20-inject.js'), coreNode('function/15-change.js'), coreNode('storage/10-file.js'), coreNode('common/25-catch.js')],
      flow,
    );
    const inject = flow.find((n) => n.type === 'inject') as FlowNode;
    const report = flow.find((n) => n.name === 'what was redacted') as FlowNode;
    const done = nextMessage<{ redaction: { perLabel: Record<string, { instances: number }> } }>(helper.getNode(report.id));
    helper.getNode(inject.id).receive({});
    const msg = await done;
    assert.ok(msg.redaction.perLabel.red.instances >= 1);

    const written = path.join(work, 'out', 'redacted.jpeg');
    const out = await sharp(written).raw().toBuffer({ resolveWithObject: true });
    assert.equal(out.info.width, W);
    const before = await sharp(input).raw().toBuffer();
    const inner = { x: target.x + 6, y: target.y + 6, width: target.width - 12, height: target.height - 12 };
    const detail = [roughness(before, W, inner), roughness(out.data, W, inner)];
    assert.ok(detail[0] > 10 && detail[1] < detail[0] / 5, `the red shape is blurred (detail before/after: ${detail.join(' / ')})`);
    // Far from the shape, pixels differ only by JPEG re-encoding: a few levels at most on average.
    let diff = 0, n = 0;
    for (let y = 90; y < 135; y++) for (let x = 140; x < 195; x++) for (let c = 0; c < 3; c++, n++) diff += Math.abs(before[(y * W + x) * 3 + c] - out.data[(y * W + x) * 3 + c]);
    assert.ok(diff / n < 4, `far pixels changed by ${(diff / n).toFixed(1)} levels on average`);
    assert.ok((await fs.readFile(input)).equals(original), 'the original is never modified');
  });
});
