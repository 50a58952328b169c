/**
 * One set of defaults: what the editor shows for a new mask-blur node is what
 * the library does when the field is left blank, and the node itself holds
 * none of its own.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { REDACT_DEFAULTS } from '../../src/redact';

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
  test("mask-blur's editor defaults are the library's", () => {
    const editor = editorDefaults('mask-blur.html');
    // Editor field -> library option.
    const fields: Record<string, keyof typeof REDACT_DEFAULTS> = {
      mode: 'mode', fillColor: 'fillColor', cover: 'cover', growPercent: 'growPercent', growPixels: 'growPixels',
      feather: 'featherPixels', minScore: 'minScore', quality: 'quality',
    };
    for (const [field, option] of Object.entries(fields)) assert.equal(editor[field], REDACT_DEFAULTS[option], `${field}`);
  });

  test('the node passes blank fields as blank: no default of its own in src/nodes/mask-blur.ts', () => {
    const source = readFileSync(path.join(root, 'src', 'nodes', 'mask-blur.ts'), 'utf8');
    for (const v of [REDACT_DEFAULTS.growPercent, REDACT_DEFAULTS.featherPixels, REDACT_DEFAULTS.quality]) {
      assert.doesNotMatch(source, new RegExp(`numberField\\(config\\.\\w+, ${v}\\)`), `a default of ${v} written in the node`);
    }
    assert.doesNotMatch(source, /'#000000'/);
  });
});
