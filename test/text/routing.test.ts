import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTextPrompt, parsePrompts, readPrompts, routePrompts, TEXT_PROMPTS } from '../../src/engine';

test('text synonyms are recognised however they are written', () => {
  for (const p of TEXT_PROMPTS) assert.ok(isTextPrompt(p));
  assert.ok(isTextPrompt('  Printed   TEXT '));
  assert.equal(isTextPrompt('text message'), false);
  assert.equal(isTextPrompt('face'), false);
});

test('readPrompts keeps explicit thresholds and backends, and checks them', () => {
  assert.deepEqual(readPrompts(['face', { text: ' words ', threshold: 0.7 }, { text: 'plate', backend: 'ocr' }, 'face']), [
    { label: 'face' },
    { label: 'words', threshold: 0.7 },
    { label: 'plate', backend: 'ocr' },
  ]);
  assert.throws(() => readPrompts([{ text: 'x', threshold: 2 }]), /threshold for "x" must be a number from 0 to 1/);
  assert.throws(() => readPrompts(' , '), /no prompt given/);
  assert.deepEqual(parsePrompts('face, text', 0.3).map((s) => s.threshold), [0.3, 0.3]);
});

test('routing: text to the detector when installed, else SAM 3; explicit choices win', () => {
  const entries = readPrompts(['computer screen', 'text', { text: 'writing', backend: 'sam3' }, { text: 'plate no', backend: 'ocr' }]);
  const via = (choice: 'auto' | 'ocr' | 'sam3', sam3: boolean, text: boolean): string[] =>
    routePrompts(entries, choice, { sam3, ocr: text }).map((r) => r.backend);
  assert.deepEqual(via('auto', true, true), ['sam3', 'ocr', 'sam3', 'ocr']);
  assert.deepEqual(via('auto', true, false), ['sam3', 'sam3', 'sam3', 'ocr']);
  assert.deepEqual(via('auto', false, false), ['sam3', 'ocr', 'sam3', 'ocr'], 'nothing loaded: text still asks for the detector');
  assert.deepEqual(via('sam3', true, true), ['sam3', 'sam3', 'sam3', 'ocr']);
  assert.deepEqual(via('ocr', true, false), ['sam3', 'ocr', 'sam3', 'ocr']);
});
