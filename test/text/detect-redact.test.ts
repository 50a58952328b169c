/**
 * The bundled text detector on rendered text (several fonts, 14 to 60 px, a
 * rotated line, light on dark): every line found as one instance, redaction
 * leaves nothing the recogniser can read, a weak redaction is caught, and
 * text-free pixels are untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { RawFrame } from '../../src/common/types';
import { assertIllegible, readingSimilarity, RedactionEngine, StillLegibleError, type RedactionSegmentResult } from '../../src/engine';
import { redactImage } from '../../src/redact';
import { bestSingleCover, boxHolds, coverMap, encodePng, inkCovered, lineInk, renderScene, type Ink } from './support/render';
import { DOCUMENT, TEXT_FREE } from './support/scenes';

async function rawOf(image: Buffer): Promise<RawFrame> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

const rowOf = (f: RawFrame, y: number, x: number, width: number): Buffer =>
  Buffer.from(f.data.buffer, f.data.byteOffset + (y * f.width + x) * 3, width * 3);

describe('text detection on rendered text', () => {
  let engine: RedactionEngine;
  let png: Buffer;
  let inks: Ink[];
  let found: RedactionSegmentResult;
  before(async () => {
    engine = await RedactionEngine.load({});
    png = await encodePng(await renderScene(DOCUMENT));
    inks = await Promise.all(DOCUMENT.lines.map((_, i) => lineInk(DOCUMENT, i)));
    found = await engine.segment(png, 'text');
  });
  after(async () => engine?.close());

  test('the text detector is there without any SAM 3 model', () => {
    const caps = engine.capabilities();
    assert.equal(caps.text, true);
    assert.equal(caps.sam3, false);
    assert.match(caps.sam3Reason ?? '', /no SAM 3 model folder/);
    assert.match(engine.text?.modelId ?? '', /^sha256:[0-9a-f]{32}$/);
  });

  test('every line is detected, each by one instance whose box and mask cover its ink', () => {
    assert.equal(found.width, DOCUMENT.width);
    assert.deepEqual(found.backends.text, [{ backend: 'ocr', threshold: 0.5 }]);
    const all = coverMap(found.instances, found.width, found.height);
    DOCUMENT.lines.forEach((line, i) => {
      const covered = inkCovered(inks[i], all);
      assert.ok(covered >= 0.99, `"${line.text}" (${line.font} ${line.size}px): masks cover ${(covered * 100).toFixed(1)} % of its ink`);
      const single = bestSingleCover(inks[i], found.instances, found.width, found.height);
      assert.ok(single >= 0.97, `"${line.text}": the best single instance covers ${(single * 100).toFixed(1)} %`);
      assert.ok(found.instances.some((inst) => boxHolds(inst.box, inks[i].box, 1)), `"${line.text}": no box holds ${inks[i].box}`);
    });
    assert.equal(found.instances.length, DOCUMENT.lines.length, 'one instance per line');
    for (const inst of found.instances) {
      assert.equal(inst.label, 'text');
      assert.ok(inst.score >= 0.5 && inst.score <= 1, `score ${inst.score}`);
      assert.deepEqual(inst.mask.size, [DOCUMENT.height, DOCUMENT.width]);
    }
    assert.equal(found.timings.textPasses, 1);
    assert.ok(found.timings.textDetectMs > 0);
    assert.deepEqual(JSON.parse(JSON.stringify(found.instances)), found.instances);
  });

  test('no instance reaches into the text-free shapes', () => {
    const all = coverMap(found.instances, found.width, found.height);
    for (let y = TEXT_FREE.y; y < TEXT_FREE.y + TEXT_FREE.height; y++) {
      for (let x = TEXT_FREE.x; x < TEXT_FREE.x + TEXT_FREE.width; x++) assert.equal(all[y * found.width + x], 0, `mask at ${x},${y}`);
    }
  });

  test('after a blur the recogniser reads none of it; text-free pixels are untouched', async () => {
    const redacted = await redactImage(png, found.instances, { mode: 'blur' });
    const result = await engine.verifyRedaction(png, redacted.image, found.instances);
    assert.equal(result.checked, DOCUMENT.lines.length);
    assert.equal(result.unreadable, 0, 'every line reads in the input');
    assert.deepEqual(result.legible, [], JSON.stringify(result.lines));
    assert.doesNotThrow(() => assertIllegible(result));
    // The recogniser did read the input: each line's reading matches what was rendered.
    for (const line of DOCUMENT.lines) {
      const best = Math.max(...result.lines.map((l) => readingSimilarity(line.text, l.before)));
      assert.ok(best >= 0.8, `"${line.text}" was read as ${JSON.stringify(result.lines.map((l) => l.before))}`);
    }
    const a = await rawOf(png), b = await rawOf(redacted.image as Buffer);
    for (let y = TEXT_FREE.y; y < TEXT_FREE.y + TEXT_FREE.height; y++) {
      assert.ok(rowOf(a, y, TEXT_FREE.x, TEXT_FREE.width).equals(rowOf(b, y, TEXT_FREE.x, TEXT_FREE.width)), `row ${y} changed`);
    }
  });

  test('fill and a coarse mosaic hide the text too', async () => {
    for (const opts of [{ mode: 'fill' }, { mode: 'pixelate', pixelSize: 24 }] as const) {
      const { mode } = opts;
      const redacted = await redactImage(png, found.instances, opts);
      const result = await engine.verifyRedaction(png, redacted.image, found.instances);
      assert.deepEqual(result.legible, [], `${mode}: ${JSON.stringify(result.legible)}`);
    }
  });

  test('a weak redaction is caught and fails closed with what was read', async () => {
    const weak = await redactImage(png, found.instances, { mode: 'blur', blurSigma: 0.5 });
    const result = await engine.verifyRedaction(png, weak.image, found.instances);
    assert.ok(result.legible.length >= DOCUMENT.lines.length - 1, `only ${result.legible.length} lines flagged`);
    for (const l of result.legible) {
      assert.ok(l.similarity > 0.3 && l.confidence > 0.5);
      assert.equal(found.instances[l.index].label, 'text');
    }
    assert.throws(() => assertIllegible(result), (err: Error) => {
      assert.ok(err instanceof StillLegibleError);
      assert.match(err.message, /still legible/);
      assert.match(err.message, /Invoice 4711 Berlin/);
      assert.equal(err.legible.length, result.legible.length);
      return true;
    });
  });

  test('only text instances are read unless labels say otherwise', async () => {
    const relabelled = found.instances.map((inst) => ({ ...inst, label: 'face' }));
    const none = await engine.verifyRedaction(png, png, relabelled);
    assert.equal(none.checked, 0);
    const some = await engine.verifyRedaction(png, png, relabelled.slice(0, 1), { labels: ['face'] });
    assert.equal(some.checked, 1);
    assert.equal(some.legible.length, 1, 'the unredacted image is legible');
  });

  test('images of different sizes cannot be compared', async () => {
    const small = await sharp(png).resize(360, 270).png().toBuffer();
    await assert.rejects(engine.verifyRedaction(png, small, found.instances), /720x540 but the redacted image is 360x270/);
  });
});
