/**
 * Large images: the detector runs on passes no longer than maxSide, so small
 * text in a large frame is found by tiles (the whole-image pass would shrink
 * it away), and lines cut by tile borders come back whole, as one instance.
 * maxSide is lowered here so that the test stays fast; the default (960)
 * behaves the same on images twice the size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { planTextPasses, RedactionEngine } from '../../src/engine';
import { bestSingleCover, coverMap, encodePng, inkCovered, lineInk, renderScene, type Ink, type Scene } from './support/render';

const SMALL = 13;
const LARGE: Scene = {
  width: 1600,
  height: 900,
  background: '#fbfbf8',
  panels: [],
  lines: [
    { text: 'QUARTERLY REPORT', x: 300, y: 120, size: 96, font: 'Liberation Sans', fill: '#202020', bold: true },
    { text: 'Account 5512 8873 0041', x: 60, y: 300, size: SMALL, font: 'DejaVu Sans', fill: '#303030' },
    // Across the border between the first and second tile columns (about x = 615).
    { text: 'Ref. customer Jane Q. Public', x: 540, y: 420, size: SMALL, font: 'Liberation Serif', fill: '#303030' },
    { text: 'tel. 030 5550 1234', x: 1350, y: 820, size: SMALL, font: 'DejaVu Sans Mono', fill: '#303030' },
  ],
};
const OPTIONS = { maxSide: 480 };

describe('text in large images', () => {
  let engine: RedactionEngine;
  let png: Buffer;
  let inks: Ink[];
  before(async () => {
    engine = await RedactionEngine.load({});
    png = await encodePng(await renderScene(LARGE));
    inks = await Promise.all(LARGE.lines.map((_, i) => lineInk(LARGE, i)));
  });
  after(async () => engine?.close());

  test('passes keep sides at multiples of 32 and within maxSide', () => {
    const passes = planTextPasses(LARGE.width, LARGE.height, OPTIONS);
    assert.equal(passes.length, 7, 'the whole image and 3 x 2 tiles');
    for (const p of passes) {
      assert.equal(p.width % 32, 0);
      assert.equal(p.height % 32, 0);
      assert.ok(Math.max(p.width, p.height) <= 480 + 16, `${p.width}x${p.height}`);
      assert.ok(p.width / p.region.width >= 0.7 || p.region.width === LARGE.width, 'tiles are seen at 0.7 or more');
    }
  });

  test('sizes that are not multiples of 32 are rounded, small images are enlarged at most 2x', () => {
    assert.deepEqual(planTextPasses(333, 177).map((p) => [p.width, p.height]), [[672, 352]]);
    assert.deepEqual(planTextPasses(333, 177, { maxSide: 500 }).map((p) => [p.width, p.height]), [[512, 256]], 'never past maxSide');
    assert.deepEqual(planTextPasses(900, 800).map((p) => [p.width, p.height]), [[896, 800]], 'a shorter side of 736 or more is not enlarged');
    assert.deepEqual(planTextPasses(10, 7).map((p) => [p.width, p.height]), [[32, 32]]);
    assert.deepEqual(planTextPasses(1280, 720).map((p) => [p.width, p.height]), [[960, 544]], '0.75 of the size: no tiles yet');
    const hd = planTextPasses(1920, 1080);
    assert.equal(hd.length, 3, 'whole image and two tiles');
    assert.deepEqual(planTextPasses(1920, 1080, { tiles: 0 }).map((p) => [p.width, p.height]), [[960, 544]]);
    assert.throws(() => planTextPasses(100, 100, { maxSide: -1 }), /maxSide must be a number > 0/);
  });

  test('an odd-sized image is read at its own proportions', async () => {
    const odd: Scene = { width: 333, height: 177, background: '#ffffff', panels: [], lines: [{ text: 'Odd 333 x 177', x: 20, y: 100, size: 30, font: 'DejaVu Sans', fill: '#000000' }] };
    const result = await engine.segment(await encodePng(await renderScene(odd)), 'text');
    assert.equal(result.instances.length, 1);
    assert.ok(inkCovered(await lineInk(odd, 0), coverMap(result.instances, 333, 177)) >= 0.99);
  });

  test('the whole-image pass alone loses the small text', async () => {
    const result = await engine.segment(png, 'text', { text: { ...OPTIONS, tiles: 0 } });
    assert.equal(result.timings.textPasses, 1);
    const map = coverMap(result.instances, LARGE.width, LARGE.height);
    assert.ok(inkCovered(inks[0], map) > 0.99, 'the heading is found');
    assert.ok(inks.slice(1).some((ink) => inkCovered(ink, map) < 0.5), 'some small line is lost');
  });

  test('tiles find every line, each as one instance, cut lines joined', async () => {
    const result = await engine.segment(png, 'text', { text: OPTIONS });
    assert.equal(result.timings.textPasses, 7);
    const map = coverMap(result.instances, LARGE.width, LARGE.height);
    LARGE.lines.forEach((line, i) => {
      assert.ok(inkCovered(inks[i], map) >= 0.99, `"${line.text}": ${inkCovered(inks[i], map)}`);
      const single = bestSingleCover(inks[i], result.instances, LARGE.width, LARGE.height);
      assert.ok(single >= 0.97, `"${line.text}" is split: one instance covers ${single}`);
    });
    assert.equal(result.instances.length, LARGE.lines.length, JSON.stringify(result.instances.map((i) => i.box)));
  });
});
