/**
 * RedactionEngine: one inference host for SAM 3 and the text models, prompts
 * routed between them, and clear errors when a prompt's backend is missing.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InferenceHostError, ModelUnavailableError, RedactionEngine, findBundledTextModels } from '../../src/engine';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { tempDir } from '../helpers/temp';
import { coverMap, encodePng, inkCovered, lineInk, renderScene, type Scene } from './support/render';

// The fixture SAM 3 sees colours on a 2 x 2 grid: the red square owns the top-left quadrant, the text the bottom half.
const SCENE: Scene = {
  width: 400,
  height: 300,
  background: '#808080',
  panels: [{ x: 30, y: 20, width: 90, height: 70, fill: `rgb(${FIXTURE_COLOURS.red.join(',')})` }],
  lines: [{ text: 'Parking permit 2291', x: 40, y: 230, size: 28, font: 'DejaVu Sans', fill: '#ffffff' }],
};

function isUnavailable(backend: 'sam3' | 'ocr', prompts: string[], message: RegExp) {
  return (err: Error): boolean => {
    assert.ok(err instanceof ModelUnavailableError, `${err.name}: ${err.message}`);
    assert.equal(err.backend, backend);
    assert.deepEqual(err.prompts, prompts);
    assert.match(err.message, message);
    return true;
  };
}

describe('without SAM 3', () => {
  let engine: RedactionEngine;
  let png: Buffer;
  before(async () => {
    engine = await RedactionEngine.load({});
    png = await encodePng(await renderScene(SCENE));
  });
  after(async () => engine?.close());

  test('"text" works and its synonyms go to the text detector', async () => {
    const result = await engine.segment(png, ['Printed  Text', { text: 'words', threshold: 0.6 }]);
    assert.deepEqual(result.backends, { 'Printed Text': [{ backend: 'ocr', threshold: 0.5 }], words: [{ backend: 'ocr', threshold: 0.6 }] });
    const ink = await lineInk(SCENE, 0);
    for (const label of ['Printed Text', 'words']) {
      const mine = result.instances.filter((i) => i.label === label);
      assert.equal(mine.length, 1, label);
      assert.ok(inkCovered(ink, coverMap(mine, 400, 300)) > 0.99);
    }
    assert.equal(result.timings.textPasses, 1, 'one detector pass serves every text prompt');
    assert.equal(result.timings.visionPasses, 0);
  });

  test('"computer screen" fails clearly, naming the prompt and models/README.md', async () => {
    await assert.rejects(
      engine.segment(png, 'computer screen, text, tattoo'),
      isUnavailable('sam3', ['computer screen', 'tattoo'], /"computer screen", "tattoo" need the SAM 3 model, which is not loaded: no SAM 3 model folder was given\. See models\/README\.md.*Without SAM 3 the bundled detectors find faces \(prompts "face".*\), people and vehicles \("person".*number plates \("license plate".*and text/),
    );
    assert.throws(() => engine.route('text', 'sam3'), isUnavailable('sam3', ['text'], /"text" needs the SAM 3 model/));
  });

  test('a prompt can ask for the text detector by name', async () => {
    const result = await engine.segment(png, [{ text: 'permit number', backend: 'ocr' }]);
    assert.deepEqual(result.backends, { 'permit number': [{ backend: 'ocr', threshold: 0.5 }] });
    assert.equal(result.instances.length, 1);
    assert.equal(result.instances[0].label, 'permit number');
  });

  test('a SAM 3 folder that is missing is named in the error', async () => {
    const missing = path.join(tempDir(), 'no-model-here');
    const e = await RedactionEngine.load({ modelDir: missing });
    try {
      const caps = e.capabilities();
      assert.equal(caps.sam3, false);
      assert.equal(caps.text, true);
      assert.match(caps.sam3Reason ?? '', /no-model-here does not exist/);
      await assert.rejects(e.segment(png, 'computer screen'), isUnavailable('sam3', ['computer screen'], new RegExp(`SAM 3 model folder ${missing.replace(/[/\\.]/g, '\\$&')} does not exist\\. See models/README\\.md`)));
      assert.equal((await e.segment(png, 'text')).instances.length, 1);
    } finally {
      await e.close();
    }
  });

  test('with the bundled detectors turned off nothing can be found, and no process is started', async () => {
    const e = await RedactionEngine.load({ textModels: false, faceModel: false, objectModel: false });
    try {
      assert.deepEqual(e.capabilities(), {
        sam3: false,
        sam3Reason: 'no SAM 3 model folder was given',
        text: false,
        textReason: 'the text detector is turned off (textModels: false)',
        backends: {
          face: { loaded: false, reason: 'the face detector is turned off (faceModel: false)', code: 'MODEL_TURNED_OFF' },
          ocr: { loaded: false, reason: 'the text detector is turned off (textModels: false)', code: 'MODEL_TURNED_OFF' },
          objects: { loaded: false, reason: 'the person and vehicle detector is turned off (objectModel: false)', code: 'MODEL_TURNED_OFF' },
          plates: {
            loaded: false,
            reason: 'plates are found by the bundled text detector, which is not available: the text detector is turned off (textModels: false)',
            code: 'MODEL_TURNED_OFF',
          },
          sam3: { loaded: false, reason: 'no SAM 3 model folder was given', code: 'MODEL_NOT_CONFIGURED' },
        },
      });
      assert.equal(e.host.pid, undefined);
      await assert.rejects(e.segment(png, 'text'), isUnavailable('ocr', ['text'], /"text" needs the bundled text detector, which is not loaded/));
      await assert.rejects(e.verifyRedaction(png, png, []), isUnavailable('ocr', [], /text detector/));
    } finally {
      await e.close();
    }
  });

  test('a bad textBackend value is refused', () => {
    assert.throws(() => engine.route('text', 'tesseract' as 'ocr'), /textBackend must be 'auto', 'ocr' or 'sam3', got "tesseract"/);
    assert.throws(() => engine.route([{ text: 'text', backend: 'paddle' }]), /backend for "text" must be one of 'face', 'ocr', 'objects', 'plates', 'sam3', got "paddle"/);
  });
});

describe('with SAM 3 and the text detector in one host', () => {
  let dir: string;
  let engine: RedactionEngine;
  let png: Buffer;
  before(async () => {
    dir = path.join(tempDir(), 'model');
    await buildFixtureModel(dir);
    engine = await RedactionEngine.load({ modelDir: dir });
    png = await encodePng(await renderScene(SCENE));
  });
  after(async () => engine?.close());

  test('each prompt goes to its backend; one decode; SAM 3 in a process of its own, the bundled detectors in another', async () => {
    assert.deepEqual(engine.capabilities(), { sam3: true, text: true, backends: { face: { loaded: true }, ocr: { loaded: true }, objects: { loaded: true }, plates: { loaded: true }, sam3: { loaded: true } } });
    assert.deepEqual(engine.host.models, ['sam3']);
    assert.deepEqual(engine.hostFor('ocr')?.models.sort(), ['face', 'objects', 'ocr']);
    assert.notEqual(engine.hostFor('ocr')?.pid, engine.host.pid, 'seconds-long SAM 3 runs cannot stall per-frame face detection');
    const pid = engine.host.pid;
    const result = await engine.segment(png, 'red, text');
    assert.deepEqual(result.backends, { red: [{ backend: 'sam3', threshold: 0.3 }], text: [{ backend: 'ocr', threshold: 0.5 }] });
    assert.deepEqual(result.instances.map((i) => i.label), ['red', 'text']);
    const [x1, y1, x2, y2] = result.instances[0].box;
    assert.ok(Math.abs(x1 - 30) <= 8 && Math.abs(y1 - 20) <= 8 && Math.abs(x2 - 120) <= 8 && Math.abs(y2 - 90) <= 8, `red box ${result.instances[0].box}`);
    assert.ok(inkCovered(await lineInk(SCENE, 0), coverMap(result.instances.slice(1), 400, 300)) > 0.99);
    assert.equal(result.timings.visionPasses, 1);
    assert.equal(result.timings.decoderRuns, 1);
    assert.equal(result.timings.textPasses, 1);
    assert.equal(engine.host.pid, pid);
    assert.match(engine.sam3?.modelId ?? '', /^sha256:/);
  });

  test("textBackend 'sam3' sends text to SAM 3", async () => {
    const result = await engine.segment(png, 'red, text', { textBackend: 'sam3' });
    assert.deepEqual(result.backends, { red: [{ backend: 'sam3', threshold: 0.3 }], text: [{ backend: 'sam3', threshold: 0.3 }] });
    assert.equal(result.timings.decoderRuns, 2);
    assert.equal(result.timings.textPasses, 0);
  });

  test('a crash while detecting text fails that call; the next call restarts its process with the models it held', async () => {
    const host = engine.hostFor('ocr');
    assert.ok(host);
    const pending = engine.segment(png, 'text');
    while (host.pendingCount === 0) await new Promise((r) => setTimeout(r, 1));
    host.kill();
    await assert.rejects(pending, (err: Error) => {
      assert.ok(err instanceof InferenceHostError);
      assert.match(err.message, /inference host was killed by SIGKILL while detecting text; no result was produced/);
      return true;
    });
    const next = await engine.segment(png, 'red, text, face');
    assert.deepEqual(next.instances.map((i) => i.label), ['red', 'text']);
    assert.equal(host.starts, 2);
    assert.deepEqual(host.models.sort(), ['face', 'objects', 'ocr']);
    assert.equal(engine.host.starts, 1, "SAM 3's process was not touched");
  });

  test('text models that fail to load leave SAM 3 and faces working', async () => {
    const bundled = await findBundledTextModels();
    assert.ok(bundled.found);
    const broken = path.join(tempDir(), 'det.onnx');
    await fs.writeFile(broken, 'not a model');
    const e = await RedactionEngine.load({ modelDir: dir, textModels: { ...bundled.files, detector: broken } });
    try {
      const caps = e.capabilities();
      assert.equal(caps.sam3, true);
      assert.equal(caps.text, false);
      assert.match(caps.textReason ?? '', /text models could not be loaded: cannot load text model .*det\.onnx/);
      assert.equal((await e.segment(png, 'red')).instances.length, 1);
      // "text" falls back to SAM 3 when the detector is missing and SAM 3 is there.
      assert.deepEqual(e.route('text').map((r) => r.backend), ['sam3']);
      await assert.rejects(e.segment(png, 'text', { textBackend: 'ocr' }), isUnavailable('ocr', ['text'], /could not be loaded/));
    } finally {
      await e.close();
    }
  });
});
