/**
 * One set of defaults: what the editor shows for a new mask-blur node is what
 * the library does when the field is left blank, and a node with its fields
 * blank redacts exactly as the library does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { boxFill } from '../../src/common/boxes';
import { boxMaskToRle } from '../../src/common/rle';
import type { Instance } from '../../src/common/types';
import { REDACT_DEFAULTS, redactImage } from '../../src/redact';
import { catchAll, inTab } from '../helpers/catch-flow';
import { rgb } from '../helpers/coverage';
import { coreNode, helper, nodeModule, useNodeRed } from '../helpers/node-red';
import { Outcomes, redImage } from '../security/support';

const root = path.resolve(__dirname, '..', '..', '..');

/** `name: { value: X` entries of a node's editor defaults. */
function editorDefaults(file: string): Record<string, unknown> {
  const html = readFileSync(path.join(root, 'nodes', file), 'utf8');
  const out: Record<string, unknown> = {};
  for (const m of html.matchAll(/(\w+): \{ value: ('[^']*'|-?[\d.]+|true|false)/g)) {
    out[m[1]] = m[2].startsWith("'") ? m[2].slice(1, -1) : m[2] === 'true' ? true : m[2] === 'false' ? false : Number(m[2]);
  }
  return out;
}

describe('one set of defaults', () => {
  useNodeRed();
  test("mask-blur's editor defaults are the library's", () => {
    const editor = editorDefaults('mask-blur.html');
    // Editor field -> library option.
    const fields: Record<string, keyof typeof REDACT_DEFAULTS> = {
      mode: 'mode', fillColor: 'fillColor', cover: 'cover', growPercent: 'growPercent', growPixels: 'growPixels',
      feather: 'featherPixels', minScore: 'minScore', quality: 'quality',
    };
    for (const [field, option] of Object.entries(fields)) assert.equal(editor[field], REDACT_DEFAULTS[option], `${field}`);
  });

  test('a mask-blur node with its fields blank redacts exactly as the library does with no options', async () => {
    const image = await redImage(320, 240, 'jpeg');
    const box: [number, number, number, number] = [20, 20, 140, 100];
    const detections: Instance[] = [{ label: 'red', score: 0.9, box, mask: boxMaskToRle(boxFill(box), 320, 240) }];
    const blank = { growPercent: '', growPixels: '', feather: '', minScore: '', quality: '', mode: '', fillColor: '', cover: '' };
    await helper.load([nodeModule('mask-blur'), coreNode('common/25-catch.js')], inTab([
      { id: 'hider', type: 'mask-blur', ...blank, wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]));
    const seen = new Outcomes<{ payload: Buffer }>(helper.getNode('out'), helper.getNode('caught'));
    helper.getNode('hider').receive({ payload: image, detections });
    const r = await seen.next(30_000, 50);
    assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
    const library = await redactImage(image, detections);
    const [ours, theirs] = await Promise.all([rgb(r.sent[0].payload), rgb(library.image as Buffer)]);
    assert.ok(ours.equals(theirs), 'the same pixels');
    assert.ok(!ours.equals(await rgb(image)), 'and the red box was redacted');
  });
});
