/**
 * People and vehicles on a fresh install: the bundled person and vehicle
 * detector, no SAM 3, through sam3-segment and mask-blur as a user wires
 * them. Ground truth is hand labelled (test/fixtures/objects/labels.json):
 * people from 17 to 250 px tall on a beach, a campus and a street, a truck,
 * cars and a van, a bicycle. An object is hidden when at least 95 % of its
 * labelled box lies inside the masks; outside them the output differs from
 * the input no more than an unredacted re-encode does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Box, Instance } from '../../src/common/types';
import { redactImage } from '../../src/redact';
import { labelledPhotos, type LabelledPhoto } from '../fixtures/objects/labelled';
import { catchAll, inTab } from '../helpers/catch-flow';
import { covered, maskMap, meanDiff, rgb, untouchable } from '../helpers/coverage';
import { coreNode, helper, nodeModule, useNodeRed } from '../helpers/node-red';
import { MediaUnavailableError } from '../helpers/registry-media';
import { tempDir } from '../helpers/temp';
import { cannotRun, Outcomes } from '../security/support';

const nodes = [...['sam3-model', 'sam3-segment', 'mask-blur'].map(nodeModule), coreNode('common/25-catch.js')];

describe('people and vehicles with no download: the bundled detector', () => {
  useNodeRed();
  let photos: LabelledPhoto[] | undefined;
  let unavailable = '';
  before(() => {
    try {
      photos = labelledPhotos();
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('every labelled person, vehicle and bicycle is hidden; outside the masks the image is as a re-encode leaves it', async (t) => {
    if (!photos) return cannotRun(t, unavailable);
    await helper.load(nodes, inTab([
      { id: 'model', type: 'sam3-model', modelDir: path.join(tempDir(), 'no-sam3') },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'person' }, { text: 'vehicle' }, { text: 'bicycle' }], tiles: 'auto', wires: [['hider']] },
      { id: 'hider', type: 'mask-blur', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]));
    const seen = new Outcomes<{ payload: Buffer; detections: Instance[] }>(helper.getNode('out'), helper.getNode('caught'));
    const missed: string[] = [];
    let objects = 0;
    for (const photo of photos) {
      const image = readFileSync(photo.path);
      helper.getNode('seg').receive({ payload: image });
      const r = await seen.next(120_000, 50);
      assert.equal(r.caught.length, 0, `${photo.name}: ${r.caught[0]?.error.message}`);
      const { payload, detections } = r.sent[0];
      const { width = 0, height = 0 } = await sharp(image).metadata();
      assert.ok(detections.every((d) => d.backend === 'objects'), 'found by the bundled detector');
      const check = (label: string, boxes: Box[]): void => {
        const map = maskMap(detections.filter((d) => d.label === label), width, height);
        for (const box of boxes) {
          objects++;
          const share = covered(box, map, width);
          if (share < 0.95) missed.push(`${photo.name} ${label} [${box.join(', ')}]: ${(share * 100).toFixed(1)} %`);
        }
      };
      check('person', photo.people);
      check('vehicle', photo.vehicles.map((v) => v.box));
      check('bicycle', photo.bicycles ?? []);
      const keep = untouchable(detections, width, height);
      const [input, output, reencoded] = await Promise.all([rgb(image), rgb(payload), redactImage(image, []).then((x) => rgb(x.image as Buffer))]);
      const changed = meanDiff(input, output, keep);
      const reencode = meanDiff(input, reencoded, keep);
      assert.ok(changed <= reencode + 0.05, `${photo.name}: outside the masks the output differs by ${changed.toFixed(3)} per channel, a re-encode by ${reencode.toFixed(3)}`);
    }
    assert.ok(objects >= 25, `${objects} labelled objects`);
    assert.deepEqual(missed, [], 'objects not hidden');
  });
});
