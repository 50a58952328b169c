/**
 * The phrase table a user reads (README, the sam3-segment dialog, its help)
 * is the one the engine routes by (src/common/concepts.ts): a phrase listed
 * for the face detector but routed to SAM 3 would fail without SAM 3, and one
 * routed to the face detector but missing from the docs would surprise.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { CONCEPTS, isFacePrompt, isObjectPrompt, isPlatePrompt, isTextPrompt } from '../../src/common/concepts';

const root = path.resolve(__dirname, '..', '..', '..');
const read = (p: string): string => readFileSync(path.join(root, p), 'utf8');
const codes = (s: string): string[] => [...s.matchAll(/<code>([^<]+)<\/code>|`([^`]+)`/g)].map((m) => m[1] ?? m[2]);

const backends = Object.keys(CONCEPTS) as Array<keyof typeof CONCEPTS>;
const routes: Record<keyof typeof CONCEPTS, (p: string) => boolean> = { face: isFacePrompt, ocr: isTextPrompt, objects: isObjectPrompt, plates: isPlatePrompt };

describe('the phrase table', () => {
  test('every listed phrase is routed to its backend, however it is written', () => {
    for (const b of backends) {
      for (const phrase of CONCEPTS[b]) {
        for (const written of [phrase, phrase.toUpperCase(), `  ${phrase.replace(' ', '   ')} `]) {
          assert.ok(routes[b](written), `${JSON.stringify(written)} goes to ${b}`);
          for (const other of backends.filter((x) => x !== b)) assert.ok(!routes[other](written), `${JSON.stringify(written)} does not go to ${other}`);
        }
      }
    }
    for (const other of ['plate', 'dinner plate', 'computer screen', 'logo']) assert.ok(backends.every((b) => !routes[b](other)), `"${other}" goes to SAM 3`);
  });

  test("the sam3-segment dialog lists exactly the engine's phrases", () => {
    const html = read('nodes/sam3-segment.html');
    const m = /var ROUTES = (\{[^;]+\});/.exec(html);
    assert.ok(m, 'the dialog carries its ROUTES table');
    const listed = JSON.parse(m[1].replace(/'/g, '"').replace(/(\w+):/g, '"$1":').replace(/,(\s*[}\]])/g, '$1')) as Record<string, string[]>;
    assert.deepEqual(listed, CONCEPTS);
  });

  test("README's table lists exactly the engine's phrases", () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('### Which model answers a phrase'), readme.indexOf('### Faces, with or without SAM 3'));
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    for (const b of backends) {
      const row = rows.find((r) => r.includes(`(\`${b}\`)`));
      assert.ok(row, `README has a row for ${b}`);
      assert.deepEqual(codes(row.split('|')[1]), [...CONCEPTS[b]]);
    }
  });

  test("sam3-segment's help lists exactly the engine's phrases", () => {
    const help = read('nodes/locales/en-US/sam3-segment.html');
    const items = [...help.matchAll(/<li><b>([^<]+)<\/b>[^:]*:([\s\S]*?)<\/li>/g)];
    const byTitle: Record<keyof typeof CONCEPTS, string> = {
      face: 'The bundled face detector',
      ocr: 'The bundled text detector',
      objects: 'The bundled person and vehicle detector',
      plates: 'Plates',
    };
    for (const b of backends) {
      const item = items.find((i) => i[1] === byTitle[b]);
      assert.ok(item, `help has a line for ${b}`);
      assert.deepEqual(codes(item[2]), [...CONCEPTS[b]]);
    }
  });
});
