/**
 * Every example flow sets every field its nodes' edit dialogs show: a field
 * an example leaves out opens blank in the dialog (a select with nothing
 * chosen), or fails its validation on import, even though the runtime would
 * use a default. And the flows' descriptions show paths with placeholders as
 * code: the editor renders them as Markdown, where `<userDir>` is an HTML tag
 * and disappears.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const ours = new Set(Object.keys((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes));

/** The fields of a node's editor `defaults`, by name. */
function dialogFields(type: string): string[] {
  const lines = readFileSync(path.join(root, 'nodes', `${type}.html`), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes('defaults: {'));
  const indent = (l: string): number => l.length - l.trimStart().length;
  const fields: string[] = [];
  // The block's own entries, one level in, up to the line that closes it.
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && indent(line) <= indent(lines[start])) break;
    const m = /^(\s*)(\w+): \{/.exec(line);
    if (m && m[1].length === indent(lines[start]) + 2) fields.push(m[2]);
  }
  return fields;
}

const flows = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json'));

describe('example flows as the editor shows them', () => {
  test('every node of this package sets every field its dialog has', () => {
    const missing: string[] = [];
    for (const f of flows) {
      const flow = JSON.parse(readFileSync(path.join(root, 'examples', f), 'utf8')) as Array<Record<string, unknown> & { type: string; id: string }>;
      for (const node of flow.filter((n) => ours.has(n.type))) {
        for (const field of dialogFields(node.type)) if (!(field in node)) missing.push(`${f}: ${node.type} ${node.id} has no ${field}`);
      }
    }
    assert.ok(dialogFields('sam3-segment').includes('textBackend'), 'the dialog fields are read');
    assert.deepEqual(missing, []);
  });

  test('descriptions show paths with placeholders as code, not as HTML tags', () => {
    for (const f of flows) {
      const flow = JSON.parse(readFileSync(path.join(root, 'examples', f), 'utf8')) as Array<{ info?: string }>;
      for (const { info } of flow) {
        if (!info) continue;
        const outside = info.replace(/`[^`]*`/g, '');
        assert.doesNotMatch(outside, /<[A-Za-z][\w-]*>/, `${f}: a <placeholder> outside a code span`);
      }
    }
  });
});
