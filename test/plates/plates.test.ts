/**
 * Number plates with no download: text lines on vehicles, through
 * sam3-segment and mask-blur as a user wires them. A plate is hidden when
 * Tesseract, which read it in the input, reads none of its characters in the
 * output. A street sign that is not on a vehicle stays sharp, and the text
 * and vehicle detectors run once per image however many phrases use them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Instance } from '../../src/common/types';
import { RedactionEngine } from '../../src/engine';
import { redactImage } from '../../src/redact';
import { labelledPhoto, platePhoto, type LabelledPhoto } from '../fixtures/objects/labelled';
import { catchAll, inTab } from '../helpers/catch-flow';
import { meanDiff, rgb } from '../helpers/coverage';
import { coreNode, helper, nodeModule, useNodeRed } from '../helpers/node-red';
import { MediaUnavailableError } from '../helpers/registry-media';
import { characters, readLine, tesseractMissing } from '../helpers/tesseract';
import { tempDir } from '../helpers/temp';
import { cannotRun, Outcomes } from '../security/support';

const nodes = [...['sam3-model', 'sam3-segment', 'mask-blur'].map(nodeModule), coreNode('common/25-catch.js')];

describe('number plates with no download', () => {
  useNodeRed();
  let plate: { image: Buffer; box: [number, number, number, number]; text: string } | undefined;
  let street: LabelledPhoto | undefined;
  let unavailable = '';
  before(async () => {
    try {
      plate = await platePhoto();
      street = labelledPhoto('bus-window');
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
    unavailable ||= tesseractMissing() ?? '';
  });

  async function redact(image: Buffer): Promise<{ payload: Buffer; detections: Instance[] }> {
    await helper.load(nodes, inTab([
      { id: 'model', type: 'sam3-model', modelDir: path.join(tempDir(), 'no-sam3') },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'license plate' }], wires: [['hider']] },
      { id: 'hider', type: 'mask-blur', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]));
    const seen = new Outcomes<{ payload: Buffer; detections: Instance[] }>(helper.getNode('out'), helper.getNode('caught'));
    helper.getNode('seg').receive({ payload: image });
    const r = await seen.next(120_000, 50);
    assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
    return r.sent[0];
  }

  test("a plate on a car: Tesseract reads it in the input and none of its characters in the output", async (t) => {
    if (!plate || unavailable) return cannotRun(t, unavailable);
    const before = characters(await readLine(plate.image, plate.box));
    assert.equal(before, characters(plate.text), 'Tesseract reads the plate in the input (else this test proves nothing)');
    const { payload, detections } = await redact(plate.image);
    assert.ok(detections.length >= 1 && detections.every((d) => d.backend === 'plates'), 'found by the plate finder');
    const after = characters(await readLine(payload, plate.box));
    const kept = [...after].filter((c) => before.includes(c));
    assert.deepEqual(kept, [], `Tesseract still reads "${after}" on the plate`);
  });

  test('a street sign that is not on a vehicle stays sharp', async (t) => {
    if (!street || unavailable) return cannotRun(t, unavailable);
    const image = readFileSync(street.path);
    const { payload, detections } = await redact(image);
    const { width = 0, height = 0 } = await sharp(image).metadata();
    for (const sign of street.signs ?? []) {
      assert.ok(detections.every((d) => d.box[2] <= sign[0] || d.box[0] >= sign[2] || d.box[3] <= sign[1] || d.box[1] >= sign[3]), 'no plate on the sign');
      const where = new Uint8Array(width * height);
      for (let y = sign[1]; y < sign[3]; y++) for (let x = sign[0]; x < sign[2]; x++) where[y * width + x] = 1;
      const [input, output, reencoded] = await Promise.all([rgb(image), rgb(payload), redactImage(image, []).then((x) => rgb(x.image as Buffer))]);
      assert.ok(meanDiff(input, output, where) <= meanDiff(input, reencoded, where) + 0.05, 'the sign as a plain re-encode leaves it');
      assert.match(await readLine(image, sign), /SLOW/, 'Tesseract reads the sign in the input');
      assert.match(await readLine(payload, sign), /SLOW/, 'and still reads it in the output');
    }
  });

  describe('one run of each detector per image', () => {
    let engine: RedactionEngine | undefined;
    after(() => engine?.close());
    test('plates, text and vehicles asked together cost the passes of text alone and vehicles alone', async (t) => {
      if (!plate || unavailable) return cannotRun(t, unavailable);
      engine = await RedactionEngine.load({ faceModel: false });
      const together = await engine.segment(plate.image, 'license plate, text, vehicle');
      const text = await engine.segment(plate.image, 'text');
      const vehicles = await engine.segment(plate.image, 'vehicle');
      assert.equal(together.timings.textPasses, text.timings.textPasses, 'text detector passes');
      assert.equal(together.timings.objectPasses, vehicles.timings.objectPasses, 'vehicle detector passes');
      assert.ok(together.instances.some((i) => i.label === 'license plate') && together.instances.some((i) => i.label === 'text') && together.instances.some((i) => i.label === 'vehicle'));
      assert.ok(together.instances.every((i) => !i.label.startsWith('plates/')), "the plate finder's own questions stay inside the engine");
    });
  });
});
