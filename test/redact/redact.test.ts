import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactImage } from '../../src/redact';
import type { RawFrame } from '../../src/common/types';
import { decode, distanceTo, ellipseMask, instance, pattern, pixel, png, rectMask, roughness, type Raw } from './helpers';

const W = 160, H = 120;

/** Every pixel farther than `limit` from the mask must be byte-identical to the source. */
function assertUntouchedBeyond(out: Raw, src: Raw, masks: ReturnType<typeof rectMask>[], limit: number): void {
  let checked = 0;
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      if (masks.some((m) => distanceTo(m, x, y, limit) !== Infinity)) continue;
      assert.deepEqual(pixel(out, x, y), pixel(src, x, y), `pixel ${x},${y} changed`);
      checked++;
    }
  }
  assert.ok(checked > 0);
}

function inMask(m: ReturnType<typeof rectMask>): (x: number, y: number) => boolean {
  return (x, y) => x >= m.x && y >= m.y && x < m.x + m.width && y < m.y + m.height && m.data[(y - m.y) * m.width + x - m.x] === 1;
}

test('blur removes the pattern inside the mask and leaves pixels beyond grow + feather untouched', async () => {
  const src = pattern(W, H);
  const m = ellipseMask(50, 30, 50, 60);
  const res = await redactImage(await png(src), [instance(m, W, H)]);
  assert.equal(res.format, 'png');
  assert.equal(res.width, W);
  assert.equal(res.height, H);
  const out = await decode(res.image as Buffer);
  const before = roughness(src, inMask(m));
  const after = roughness(out, inMask(m));
  assert.ok(before > 100, `pattern roughness ${before}`);
  assert.ok(after < before / 10, `blurred roughness ${after} vs ${before}`);
  // default growth max(3, 4% of 50) = 3, feather 4
  assertUntouchedBeyond(out, src, [m], 3 + 4 + 1);
  assert.equal(res.summary.mode, 'blur');
  assert.equal(res.summary.instances, 1);
  assert.equal(res.summary.perLabel.face.instances, 1);
  assert.ok(res.summary.pixelsRedacted > 50 * 60 * 0.785);
  assert.equal(res.summary.perLabel.face.pixels, res.summary.pixelsRedacted);
});

test('fill covers the whole grown mask with the colour; the feather only fades outward', async () => {
  const src = pattern(W, H);
  const m = ellipseMask(40, 30, 60, 50);
  const opts = { mode: 'fill' as const, fillColor: '#f0a', growPixels: 2, featherPixels: 6 };
  const res = await redactImage(await png(src), [instance(m, W, H)], opts);
  const out = await decode(res.image as Buffer);
  const grow = 3 + 2; // max(3, 4% of 50) + growPixels
  let full = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = distanceTo(m, x, y, grow + 6 + 1);
      if (d <= grow) {
        assert.deepEqual(pixel(out, x, y), [255, 0, 170], `grown pixel ${x},${y} (d=${d.toFixed(2)})`);
        full++;
      }
    }
  }
  assert.equal(res.summary.pixelsRedacted, full);
  assertUntouchedBeyond(out, src, [m], grow + 6 + 1);
});

test('featherPixels 0 gives a hard edge right at the grown mask', async () => {
  const src = pattern(W, H);
  const m = rectMask(30, 30, 40, 40);
  const res = await redactImage(await png(src), [instance(m, W, H)], { mode: 'fill', featherPixels: 0, minGrowPixels: 0, growPercent: 0 });
  const out = await decode(res.image as Buffer);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = inMask(m)(x, y);
      if (inside) assert.deepEqual(pixel(out, x, y), [0, 0, 0]);
      else assert.deepEqual(pixel(out, x, y), pixel(src, x, y));
    }
  }
});

test('pixelate makes uniform cells of at least the minimum size inside the mask', async () => {
  const src = pattern(W, H);
  const m = rectMask(40, 30, 60, 60);
  for (const [opts, maxCells] of [
    [{}, 9 * 9], // cover 74 px wide, cells >= 8 px
    [{ pixelSize: 20 }, 3 * 3],
  ] as const) {
    const res = await redactImage(await png(src), [instance(m, W, H)], { mode: 'pixelate', ...opts });
    const out = await decode(res.image as Buffer);
    const colours = new Set<string>();
    for (let y = 30; y < 90; y++) for (let x = 40; x < 100; x++) colours.add(pixel(out, x, y).join());
    assert.ok(colours.size <= maxCells, `${colours.size} colours in the mask, at most ${maxCells} cells`);
    assert.ok(colours.size > 1);
    assertUntouchedBeyond(out, src, [m], 3 + 4 + 1);
  }
});

test("cover 'box' redacts the whole box, not just the mask", async () => {
  const src = pattern(W, H);
  const m = ellipseMask(40, 20, 80, 60);
  const opts = { mode: 'fill' as const, fillColor: '#00ff00' };
  const boxed = await decode((await redactImage(await png(src), [instance(m, W, H)], { ...opts, cover: 'box' })).image as Buffer);
  const masked = await decode((await redactImage(await png(src), [instance(m, W, H)], opts)).image as Buffer);
  for (let y = 20; y < 80; y++) for (let x = 40; x < 120; x++) assert.deepEqual(pixel(boxed, x, y), [0, 255, 0]);
  // The ellipse mask leaves the box's corner alone.
  assert.deepEqual(pixel(masked, 40, 20), pixel(src, 40, 20));
});

test('overlapping instances are each fully covered', async () => {
  const src = pattern(W, H);
  const a = ellipseMask(30, 30, 60, 50);
  const b = ellipseMask(60, 40, 60, 60);
  for (const mode of ['blur', 'pixelate'] as const) {
    const res = await redactImage(await png(src), [instance(a, W, H), instance(b, W, H, 'plate')], { mode });
    const out = await decode(res.image as Buffer);
    for (const m of [a, b]) {
      const r = roughness(out, inMask(m));
      assert.ok(r < roughness(src, inMask(m)) / 8, `${mode}: roughness ${r}`);
    }
    assert.equal(res.summary.instances, 2);
    assert.deepEqual(Object.keys(res.summary.perLabel).sort(), ['face', 'plate']);
    // Pixels covered by both count once in the total.
    assert.ok(res.summary.pixelsRedacted < res.summary.perLabel.face.pixels + res.summary.perLabel.plate.pixels);
  }
});

test('the audit counts each redacted pixel once, however many overlapping covers hide it', async () => {
  const src = pattern(W, H);
  // Three covers, each overlapping the others: a pixel hidden by two or three counts once.
  const masks = [ellipseMask(30, 30, 60, 50), ellipseMask(60, 40, 60, 60), rectMask(45, 20, 50, 80)];
  const res = await redactImage(await png(src), masks.map((m) => instance(m, W, H)), { mode: 'fill', fillColor: '#f0a', featherPixels: 0 });
  const out = await decode(res.image as Buffer);
  // The pattern never holds the fill colour (its red channel stops at 254): every fill-coloured pixel was redacted.
  let filled = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (pixel(out, x, y).join() === '255,0,170') filled++;
  assert.equal(res.summary.pixelsRedacted, filled);
  assert.ok(filled < res.summary.perLabel.face.pixels, 'the covers overlap');
});

test('RGBA: inside the mask alpha becomes opaque (a shape it carried is gone); beyond the cover it is kept byte for byte', async () => {
  const src = pattern(W, H, 4);
  const m = ellipseMask(40, 30, 70, 60);
  for (const mode of ['blur', 'pixelate', 'fill'] as const) {
    const res = await redactImage(await png(src), [instance(m, W, H)], { mode });
    const out = await decode(res.image as Buffer);
    assert.equal(out.channels, 4, mode);
    const inside = inMask(m);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) if (inside(x, y)) assert.equal(out.data[(y * W + x) * 4 + 3], 255, `${mode}: alpha at ${x},${y} inside the mask`);
    }
    assert.ok(roughness(out, inside) < roughness(src, inside) / 8, mode);
    assertUntouchedBeyond(out, src, [m], 8);
  }
});

test('labels and minScore choose which instances are redacted', async () => {
  const src = pattern(W, H);
  const face = rectMask(10, 10, 30, 30);
  const plate = rectMask(60, 10, 30, 30);
  const faint = rectMask(110, 10, 30, 30);
  const insts = [instance(face, W, H, 'face', 0.9), instance(plate, W, H, 'plate', 0.9), instance(faint, W, H, 'face', 0.2)];
  const res = await redactImage(await png(src), insts, { mode: 'fill', labels: ['face'], minScore: 0.5 });
  const out = await decode(res.image as Buffer);
  assert.deepEqual(pixel(out, 20, 20), [0, 0, 0]);
  assert.deepEqual(pixel(out, 70, 20), pixel(src, 70, 20));
  assert.deepEqual(pixel(out, 120, 20), pixel(src, 120, 20));
  assert.equal(res.summary.instances, 1);
  assert.deepEqual(Object.keys(res.summary.perLabel), ['face']);
});

test('wholeImage redacts everything and does not read the detections', async () => {
  const src = pattern(W, H);
  const garbage = 'not detections' as unknown as [];
  const filled = await redactImage(await png(src), garbage, { wholeImage: true, mode: 'fill', fillColor: '#123456' });
  const out = await decode(filled.image as Buffer);
  for (let i = 0; i < out.data.length; i += 3) assert.deepEqual([...out.data.subarray(i, i + 3)], [0x12, 0x34, 0x56]);
  assert.equal(filled.summary.pixelsRedacted, W * H);
  assert.equal(filled.summary.wholeImage, true);
  const blurred = await decode((await redactImage(await png(src), [], { wholeImage: true })).image as Buffer);
  assert.ok(roughness(blurred, () => true) < roughness(src, () => true) / 20);
});

test('a large region is not left readable: blur sigma and mosaic cells scale with it', async () => {
  // 30-px checkerboard: survives a fixed small blur, must not survive the default.
  const size = 700;
  const data = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.fill(((x / 30) ^ (y / 30)) & 1 ? 255 : 0, (y * size + x) * 3, (y * size + x + 1) * 3);
  const src: Raw = { data, width: size, height: size, channels: 3 };
  const input = await png(src);
  const m = rectMask(50, 50, 600, 600);
  const std = (img: Raw): number => {
    let s = 0, s2 = 0, n = 0;
    for (let y = 150; y < 550; y++) for (let x = 150; x < 550; x++) {
      const v = img.data[(y * size + x) * 3];
      s += v; s2 += v * v; n++;
    }
    return Math.sqrt(s2 / n - (s / n) ** 2);
  };
  const weak = await decode((await redactImage(input, [instance(m, size, size)], { blurSigma: 8 })).image as Buffer);
  assert.ok(std(weak) > 60, `a fixed sigma 8 leaves the pattern (std ${std(weak)})`);
  const blurred = await decode((await redactImage(input, [instance(m, size, size)])).image as Buffer);
  assert.ok(std(blurred) < 127 * 0.05, `default blur std ${std(blurred)}`);

  const mosaic = await decode((await redactImage(input, [instance(m, size, size)], { mode: 'pixelate' })).image as Buffer);
  // Runs of one colour along a row inside the region: the cells. 600 px + growth, so >= 60 px each.
  const row = 300;
  let runStart = 100;
  for (let x = 101; x < 600; x++) {
    if (pixel(mosaic, x, row).join() !== pixel(mosaic, x - 1, row).join()) {
      if (runStart > 100) assert.ok(x - runStart >= 60, `cell run ${x - runStart} px`);
      runStart = x;
    }
  }
});

test('raw frame in, raw frame out; the input frame is not modified', async () => {
  const src = pattern(W, H);
  const frame: RawFrame = { data: Buffer.from(src.data), width: W, height: H, channels: 3 };
  const m = ellipseMask(60, 40, 40, 40);
  const res = await redactImage(frame, [instance(m, W, H)]);
  assert.equal(res.format, 'raw');
  const out = res.image as RawFrame;
  assert.equal(out.channels, 3);
  assert.equal(out.data.length, W * H * 3);
  assert.deepEqual(frame.data, src.data);
  const outRaw: Raw = { data: Buffer.from(out.data), width: W, height: H, channels: 3 };
  assert.ok(roughness(outRaw, inMask(m)) < roughness(src, inMask(m)) / 10);
  assertUntouchedBeyond(outRaw, src, [m], 8);
});

test('inPlace: a video frame is redacted in its own buffer, exactly as a copy would be', async () => {
  const src = pattern(W, H);
  const m = ellipseMask(60, 40, 40, 40);
  const copied = (await redactImage({ data: Buffer.from(src.data), width: W, height: H, channels: 3 }, [instance(m, W, H)])).image as RawFrame;
  const frame: RawFrame = { data: Buffer.from(src.data), width: W, height: H, channels: 3 };
  const res = await redactImage(frame, [instance(m, W, H)], { inPlace: true });
  const out = res.image as RawFrame;
  assert.equal(out.data.buffer, frame.data.buffer, 'the same buffer, so video-split can reuse it');
  assert.deepEqual(Buffer.from(frame.data), Buffer.from(copied.data));
  assert.ok(roughness({ data: Buffer.from(frame.data), width: W, height: H, channels: 3 }, inMask(m)) < roughness(src, inMask(m)) / 10);
});

test('a mask whose size does not match the upright image throws and returns nothing', async () => {
  const src = pattern(W, H);
  const m = rectMask(10, 10, 20, 20);
  const wrong = instance(m, H, W); // the size of the image lying on its side
  await assert.rejects(redactImage(await png(src), [wrong]), /mask\.size is \[160, 120\].*upright/);
});

test('bad options are refused with the option named', async () => {
  const input = await png(pattern(32, 32));
  await assert.rejects(redactImage(input, [], { mode: 'smear' as 'blur' }), /mode/);
  await assert.rejects(redactImage(input, [], { fillColor: 'red' }), /fillColor/);
  await assert.rejects(redactImage(input, [], { quality: 0 }), /quality/);
  await assert.rejects(redactImage(input, [], { blurSigma: -1 }), /blurSigma/);
});
