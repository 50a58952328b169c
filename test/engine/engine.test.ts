import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { InferenceHostError, ImageInputError, Sam3Engine } from '../../src/engine';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { encode, paint, type Rect } from '../helpers/images';
import { coverage } from '../helpers/masks';
import { tempDir } from '../helpers/temp';

const RED = FIXTURE_COLOURS.red;
const GREEN = FIXTURE_COLOURS.green;
// 300 x 200 with the 2x2 query grid of the default fixture: one shape per quadrant.
const redRect: Rect = { x: 30, y: 20, width: 90, height: 60, rgb: RED };
const greenRect: Rect = { x: 180, y: 120, width: 80, height: 50, rgb: GREEN };
const scene = paint(300, 200, [redRect, greenRect]);

describe('Sam3Engine on the fixture model', () => {
  let dir: string;
  let engine: Sam3Engine;
  before(async () => {
    dir = path.join(tempDir(), 'model');
    await buildFixtureModel(dir);
    engine = await Sam3Engine.load({ modelDir: dir });
  });
  after(async () => engine?.close());

  test('masks and boxes land on the shapes each prompt names', async () => {
    const result = await engine.segment(await encode(scene), ['red', 'green']);
    assert.equal(result.width, 300);
    assert.equal(result.height, 200);
    const red = result.instances.filter((i) => i.label === 'red');
    const green = result.instances.filter((i) => i.label === 'green');
    assert.equal(red.length, 1);
    assert.equal(green.length, 1);
    for (const [inst, rect] of [[red[0], redRect], [green[0], greenRect]] as const) {
      assert.deepEqual(inst.mask.size, [200, 300]);
      const c = coverage(inst.mask, rect);
      assert.ok(c.inside > 0.93, `${inst.label} mask covers ${c.inside} of its shape`);
      assert.ok(c.outside < 0.05 * rect.width * rect.height, `${inst.label} mask spills ${c.outside} px`);
      const [x1, y1, x2, y2] = inst.box;
      assert.ok(Math.abs(x1 - rect.x) <= 4 && Math.abs(y1 - rect.y) <= 4, `box ${inst.box}`);
      assert.ok(Math.abs(x2 - (rect.x + rect.width)) <= 4 && Math.abs(y2 - (rect.y + rect.height)) <= 4, `box ${inst.box}`);
      assert.ok(inst.score > 0.9);
    }
    // Detections are plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(result.instances)), result.instances);
  });

  test('a prompt the model does not know finds nothing', async () => {
    const result = await engine.segment(await encode(scene), ['zebra crossing']);
    assert.equal(result.instances.length, 0);
  });

  test('several prompts share one vision pass; a repeated prompt is not re-encoded', async () => {
    const first = await engine.segment(scene, ['blue', 'yellow', 'cyan']);
    assert.equal(first.timings.visionPasses, 1);
    assert.equal(first.timings.decoderRuns, 3);
    assert.equal(first.timings.textEncodes, 3);
    const again = await engine.segment(scene, 'Blue,  yellow');
    assert.equal(again.timings.textEncodes, 0);
    const more = await engine.segment(scene, ['blue', 'magenta']);
    assert.equal(more.timings.textEncodes, 1);
    for (const key of ['decodeMs', 'preprocessMs', 'visionMs', 'textMs', 'decoderMs', 'postprocessMs', 'totalMs'] as const) {
      assert.equal(typeof first.timings[key], 'number');
    }
  });

  test('per-prompt threshold overrides the call threshold', async () => {
    const strict = await engine.segment(scene, [{ text: 'red', threshold: 1 }, 'green'], { threshold: 0.3 });
    assert.deepEqual(strict.instances.map((i) => i.label), ['green']);
    const none = await engine.segment(scene, ['red', 'green'], { threshold: 1 });
    assert.equal(none.instances.length, 0);
  });

  test('file path, encoded buffer and raw frame give the same masks', async () => {
    const file = path.join(tempDir(), 'scene.png');
    await fs.writeFile(file, await encode(scene));
    const results = await Promise.all([file, await encode(scene), scene].map((img) => engine.segment(img, ['red'])));
    const masks = results.map((r) => r.instances.map((i) => i.mask.counts));
    assert.deepEqual(masks[0], masks[1]);
    assert.deepEqual(masks[0], masks[2]);
  });

  test('EXIF orientation is applied: masks are in upright coordinates', async () => {
    // Stored sideways with orientation 6 (rotate 90 clockwise to view).
    const upright = await encode(scene);
    const stored = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).png().toBuffer();
    const result = await engine.segment(stored, ['red']);
    assert.equal(result.width, 300);
    assert.equal(result.height, 200);
    assert.ok(coverage(result.instances[0].mask, redRect).inside > 0.95);
  });

  test('bad images are rejected with clear errors', async () => {
    const png = await encode(scene);
    const cases: Array<[unknown, RegExp]> = [
      [Buffer.alloc(0), /empty/],
      [png.subarray(0, png.length / 3), /could not be decoded/],
      [Buffer.from('this is not an image at all'), /could not be decoded/],
      [path.join(tempDir(), 'missing.png'), /cannot read image file/],
      [{ data: Buffer.alloc(10), width: 4, height: 4, channels: 3 }, /expected 4x4x3/],
      [42, /must be an encoded Buffer/],
    ];
    for (const [input, message] of cases) {
      await assert.rejects(engine.segment(input as Buffer, ['red']), (err: Error) => {
        assert.ok(err instanceof ImageInputError, `${err.name}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    }
    const small = await Sam3Engine.load({ modelDir: dir, maxPixels: 1000 });
    try {
      await assert.rejects(small.segment(png, ['red']), /over the limit of 1000 pixels/);
    } finally {
      await small.close();
    }
  });

  test('empty prompts are refused', async () => {
    await assert.rejects(engine.segment(scene, ' , '), /no prompt given/);
  });

  test('a crashed inference host fails the pending call, and the next call recovers', async () => {
    const big = paint(1600, 1200, [{ ...redRect, x: 100, y: 100 }]);
    const pending = engine.segment(big, ['red', 'green', 'blue'], { tiles: 4 });
    // Once the request is with the host, kill it as a native crash would.
    while (engine.host.pendingCount === 0) await new Promise((r) => setTimeout(r, 1));
    const pid = engine.host.pid;
    assert.ok(pid);
    engine.host.kill();
    await assert.rejects(pending, (err: Error) => {
      assert.ok(err instanceof InferenceHostError);
      assert.match(err.message, /inference host was killed by SIGKILL while segmenting an image; no result was produced/);
      return true;
    });
    const next = await engine.segment(scene, ['red']);
    assert.equal(next.instances.length, 1);
    assert.notEqual(engine.host.pid, pid);
  });

  test('small objects in a large frame are found by the tiled pass', async () => {
    // The fixture sees a 32 x 32 grid per pass: 75 px cells for the whole
    // frame dilute this square below recognition; 4 tiles along give ~22 px cells.
    const tiny: Rect = { x: 1510, y: 310, width: 36, height: 36, rgb: RED };
    const large = paint(2400, 1600, [tiny]);
    const plain = await engine.segment(large, ['red']);
    assert.equal(plain.instances.length, 0, 'without tiles the square is lost in the downscale');
    assert.equal(plain.timings.tiles, 0);
    const tiled = await engine.segment(large, ['red'], { tiles: 4 });
    assert.equal(tiled.timings.tiles, 12);
    assert.equal(tiled.timings.visionPasses, 13);
    assert.equal(tiled.instances.length, 1);
    // At about 22 px per mask cell the edges are coarse; mask-blur grows masks for this reason.
    assert.ok(coverage(tiled.instances[0].mask, tiny).inside > 0.7);
  });

  test('an object cut by tile borders comes back as one instance', async () => {
    // Centred on the vertical border between tiles of a 2-tile split.
    const rect: Rect = { x: 560, y: 100, width: 80, height: 80, rgb: RED };
    const result = await engine.segment(paint(1200, 600, [rect]), ['red'], { tiles: 2 });
    const red = result.instances.filter((i) => i.label === 'red');
    assert.equal(red.length, 1);
    assert.ok(coverage(red[0].mask, rect).inside > 0.97);
  });

  test('the event loop stays responsive while a segment call runs at the real contract size', async () => {
    // S = 1008, 200 queries, 288 x 288 masks: the sizes the real model works at.
    const big = path.join(tempDir(), 'contract-size');
    await buildFixtureModel(big, { imageSize: 1008, queries: 200 });
    const full = await Sam3Engine.load({ modelDir: big });
    try {
      const frame = paint(1920, 1080, [{ ...redRect, x: 200, y: 200, width: 300, height: 200 }, { ...greenRect, x: 1200, y: 500 }]);
      // What keeps the loop free is where inference runs, not how fast this machine is today: the
      // call must run in the host process, and Node-RED's timers must keep firing while it does.
      let ticks = 0;
      let worst = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
        ticks++;
      }, 5);
      const t0 = performance.now();
      let result;
      try {
        result = await full.segment(frame, ['red', 'green', 'blue']);
      } finally {
        clearInterval(timer);
      }
      const took = performance.now() - t0;
      assert.ok(result.instances.some((i) => i.label === 'red'));
      assert.ok(full.host.pid !== undefined && full.host.pid !== process.pid, 'inference ran in the host process');
      assert.ok(ticks >= 2, `timers fired ${ticks} times during a ${took.toFixed(0)} ms call (longest gap ${worst.toFixed(0)} ms)`);
    } finally {
      await full.close();
    }
  });
});

describe('model folder checks', () => {
  test('a missing folder names the folder and points to models/README.md', async () => {
    const missing = path.join(tempDir(), 'nope');
    await assert.rejects(Sam3Engine.load({ modelDir: missing }), (err: Error) => {
      assert.equal(err.name, 'ModelFolderError');
      assert.match(err.message, /nope does not exist/);
      assert.match(err.message, /models\/README\.md/);
      return true;
    });
  });

  test('an incomplete folder names every missing file', async () => {
    const dir = tempDir();
    await buildFixtureModel(dir);
    await fs.rm(path.join(dir, 'geo-encoder-mask-decoder.onnx'));
    await fs.rm(path.join(dir, 'tokenizer.json'));
    await assert.rejects(Sam3Engine.load({ modelDir: dir }), /incomplete: missing geo-encoder-mask-decoder\.onnx, tokenizer\.json\. .*models\/README\.md/);
  });

  test('a graph that breaks the contract is named with what is wrong', async () => {
    const dir = tempDir();
    await buildFixtureModel(dir);
    // The text encoder in the decoder's place: right file name, wrong inputs and outputs.
    await fs.copyFile(path.join(dir, 'text-encoder.onnx'), path.join(dir, 'geo-encoder-mask-decoder.onnx'));
    await assert.rejects(Sam3Engine.load({ modelDir: dir }), (err: Error) => {
      assert.match(err.message, /does not match the contract/);
      assert.match(err.message, /geo-encoder-mask-decoder\.onnx: missing input fpn_feat_0/);
      assert.match(err.message, /missing output pred_masks/);
      assert.match(err.message, /models\/README\.md/);
      return true;
    });
  });

  test('a graph file that is not ONNX is refused clearly', async () => {
    const dir = tempDir();
    await buildFixtureModel(dir);
    await fs.writeFile(path.join(dir, 'vision-encoder.onnx'), 'not a model');
    await assert.rejects(Sam3Engine.load({ modelDir: dir }), /cannot load .*vision-encoder\.onnx/);
  });

  test('an unknown execution provider is refused clearly', async () => {
    const dir = tempDir();
    await buildFixtureModel(dir);
    await assert.rejects(Sam3Engine.load({ modelDir: dir, executionProviders: ['warp-drive'] }), /execution provider 'warp-drive' is not offered/);
  });

  test('a float16 variant loads by name and segments like the fp32 one', async () => {
    const dir = tempDir();
    await buildFixtureModel(dir, { dtype: 'float16', suffix: '-fp16' });
    const engine = await Sam3Engine.load({ modelDir: dir, variant: 'fp16' });
    try {
      assert.equal(engine.files.variant, 'fp16');
      assert.equal(engine.info.floatTypes.vision, 'float16');
      const result = await engine.segment(scene, ['red']);
      assert.equal(result.instances.length, 1);
      assert.ok(coverage(result.instances[0].mask, redRect).inside > 0.95);
    } finally {
      await engine.close();
    }
  });
});
