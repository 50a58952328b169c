import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import type { Rect } from '../helpers/images';
import { collect, coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { changedShare, roughness, textured } from '../helpers/textured';

const nodes = [nodeModule('sam3-model'), nodeModule('sam3-segment'), nodeModule('mask-blur'), coreNode('common/25-catch.js')];
const W = 240, H = 160;
const red: Rect & { pattern: [number, number, number] } = { x: 30, y: 30, width: 60, height: 40, rgb: FIXTURE_COLOURS.red, pattern: [200, 30, 30] };
const green: Rect = { x: 160, y: 100, width: 40, height: 30, rgb: FIXTURE_COLOURS.green };
const frame = textured(W, H, [red, green]);
// Far from the red square: beyond growth (4% of 40 px, at least 3 px) + feather (4 px) + mask coarseness.
const farAway = { x: 120, y: 0, width: 30, height: 60 };

function flow(modelDir: string, blur: Record<string, unknown> = {}): FlowNode[] {
  return inTab([
    { id: 'model', type: 'sam3-model', modelDir },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], wires: [['redactor']] },
    { id: 'redactor', type: 'mask-blur', wires: [['out']], ...blur },
    { id: 'out', type: 'helper' },
    ...catchAll,
  ]);
}

async function rawOf(image: Buffer): Promise<Buffer> {
  return sharp(image).removeAlpha().raw().toBuffer();
}

type Out = { payload: Buffer; redaction: { mode: string; instances: number; perLabel: Record<string, { instances: number }>; prompts: unknown; modelId: string; format: string; reason?: string } };

describe('mask-blur node', () => {
  useNodeRed();
  let modelDir: string;
  let png: Buffer;
  before(async () => {
    modelDir = path.join(tempDir(), 'model');
    await buildFixtureModel(modelDir);
    png = await sharp(Buffer.from(frame.data), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  });

  async function run(blur: Record<string, unknown>, payload: Buffer): Promise<Out> {
    await helper.load(nodes, flow(modelDir, blur));
    const got = nextMessage<Out>(helper.getNode('out'));
    const failed = nextMessage<{ error: { message: string } }>(helper.getNode('caught')).then((m) => {
      throw new Error(`flow failed: ${m.error.message}`);
    });
    helper.getNode('seg').receive({ payload });
    return Promise.race([got, failed]);
  }

  for (const mode of ['blur', 'pixelate', 'fill']) {
    test(`${mode}: the found region changes, the rest of the image is untouched`, async () => {
      const msg = await run({ mode, fillColor: '#0000ff' }, png);
      const before = await rawOf(png);
      const after = await rawOf(msg.payload);
      assert.ok(roughness(before, W, red) > 40, 'the shape has fine detail to hide');
      assert.ok(roughness(after, W, red) < roughness(before, W, red) / 5, `${mode} left the detail of the shape readable`);
      assert.equal(changedShare(before, after, W, farAway), 0, 'pixels far from the mask must be identical');
      assert.equal(changedShare(before, after, W, green), 0, 'the green shape was not asked for');
      if (mode === 'fill') {
        const o = ((red.y + 10) * W + red.x + 10) * 3;
        assert.deepEqual([...after.subarray(o, o + 3)], [0, 0, 255]);
      }
      assert.equal(msg.redaction.mode, mode);
      assert.equal(msg.redaction.perLabel.red.instances, 1);
      assert.deepEqual(msg.redaction.prompts, ['red']);
      assert.match(msg.redaction.modelId, /^sha256:/);
    });
  }

  test('JPEG stays JPEG and loses its GPS and other EXIF', async () => {
    const jpeg = await sharp(png)
      .jpeg({ quality: 95 })
      .withExif({ IFD0: { Make: 'SpyCam', Model: 'X1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } })
      .toBuffer();
    assert.ok((await sharp(jpeg).metadata()).exif, 'the input has EXIF');
    const msg = await run({}, jpeg);
    const meta = await sharp(msg.payload).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(msg.redaction.format, 'jpeg');
    assert.equal(meta.exif, undefined);
    assert.ok(!msg.payload.includes(Buffer.from('SpyCam')));
  });

  test('PNG with alpha stays PNG and keeps its alpha channel', async () => {
    const rgba = await sharp(png).ensureAlpha(0.5).png().toBuffer();
    const msg = await run({ mode: 'fill' }, rgba);
    const meta = await sharp(msg.payload).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.channels, 4);
    const alpha = await sharp(msg.payload).extractChannel(3).raw().toBuffer();
    const alphaIn = await sharp(rgba).extractChannel(3).raw().toBuffer();
    assert.ok(alpha.equals(alphaIn), 'alpha unchanged');
  });

  test('missing detections reach the Catch node and no image is sent', async () => {
    await helper.load(nodes, inTab([{ id: 'redactor', type: 'mask-blur', wires: [['out']] }, { id: 'out', type: 'helper' }, ...catchAll]));
    let sent = false;
    helper.getNode('out').on('input', () => (sent = true));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'));
    helper.getNode('redactor').receive({ payload: png });
    assert.match((await caught).error.message, /instances must be an array/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent, false);
  });

  test('with "redact the whole image", bad detections hide everything and say why', async () => {
    await helper.load(nodes, inTab([{ id: 'redactor', type: 'mask-blur', onInvalid: 'redact-all', mode: 'fill', wires: [['out']] }, { id: 'out', type: 'helper' }]));
    const got = nextMessage<Out>(helper.getNode('out'));
    helper.getNode('redactor').receive({ payload: png, detections: [{ label: 'x', score: 1, box: [0, 0, 1, 1], mask: { size: [5, 5], counts: '0' } }] });
    const msg = await got;
    const after = await rawOf(msg.payload);
    assert.ok(after.every((v, i) => v === [0, 0, 0][i % 3]), 'every pixel filled');
    assert.match(msg.redaction.reason ?? '', /mask/);
  });

  test('many images at once all come out redacted', async () => {
    await helper.load(nodes, flow(modelDir, { mode: 'fill' }));
    const all = collect<Out & { n: number }>(helper.getNode('out'), 25);
    for (let n = 0; n < 25; n++) helper.getNode('seg').receive({ payload: png, n });
    const msgs = await all;
    assert.equal(new Set(msgs.map((m) => m.n)).size, 25);
    const before = await rawOf(png);
    for (const m of msgs) assert.ok(changedShare(before, await rawOf(m.payload), W, red) > 0.9);
  });

  test('privacy zones, from the dialog and from msg.zones, are hidden whatever was found, at every image size; msg.redaction names them', async () => {
    // "gate": the right half of the top half; msg.zones adds the bottom-left corner triangle.
    const gate = { name: 'gate', points: [[0.5, 0], [1, 0], [1, 0.5], [0.5, 0.5]] };
    const corner = { points: [[0, 0.7], [0.3, 1], [0, 1]] };
    await helper.load(nodes, flow(modelDir, { mode: 'fill', fillColor: '#0000ff', labels: 'green', zones: [gate] }));
    type ZoneOut = Out & { redaction: { zones: Array<{ name: string; pixels: number }> } };
    for (const scale of [1, 2.5]) {
      const w = Math.round(W * scale), h = Math.round(H * scale);
      const image = await sharp(png).resize(w, h).png().toBuffer();
      const got = nextMessage<ZoneOut>(helper.getNode('out'));
      helper.getNode('seg').receive({ payload: image, zones: [corner] });
      const msg = await got;
      const after = await rawOf(msg.payload);
      const blue = (x: number, y: number): boolean => {
        const p = (Math.floor(y) * w + Math.floor(x)) * 3;
        return after[p] === 0 && after[p + 1] === 0 && after[p + 2] === 255;
      };
      for (const [x, y] of [[0.52, 0.02], [0.98, 0.48], [0.75, 0.25]]) assert.ok(blue(x * w, y * h), `${w}x${h}: the gate zone at ${x},${y} is filled`);
      for (const [x, y] of [[0.02, 0.98], [0.05, 0.8], [0.2, 0.97]]) assert.ok(blue(x * w, y * h), `${w}x${h}: the msg.zones corner at ${x},${y} is filled`);
      assert.ok(!blue(0.3 * w, 0.4 * h), `${w}x${h}: outside the zones nothing is filled`);
      assert.deepEqual(msg.redaction.zones.map((z) => z.name), ['gate', 'zone 2']);
      assert.ok(msg.redaction.zones.every((z) => z.pixels > 0));
      assert.equal(msg.redaction.perLabel.zone.instances, 2);
    }
  });

  test('a zone that is not a polygon inside the image fails every message to the Catch node: nothing goes out unhidden', async () => {
    await helper.load(nodes, flow(modelDir, { zones: [{ name: 'bad', points: [[0, 0], [2, 0], [0, 1]] }] }));
    const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught'));
    let sent = false;
    helper.getNode('out').on('input', () => (sent = true));
    helper.getNode('seg').receive({ payload: png });
    assert.match((await caught).error.message, /zone 1, point 2/);
    assert.equal(sent, false);
  });

  test("the dialog's last output is the node's last redacted image, and there is none before one was sent", async () => {
    type Res = { status: number; body: Buffer; headers: Record<string, string> };
    const request = (): { get(url: string): PromiseLike<Res> } => (helper as unknown as { request(): { get(url: string): PromiseLike<Res> } }).request();
    await helper.load(nodes, flow(modelDir, { mode: 'fill', fillColor: '#0000ff' }));
    assert.equal((await request().get('/mask-blur/redactor/sample')).status, 404, 'nothing sent yet: nothing to show');
    const got = nextMessage<Out>(helper.getNode('out'));
    helper.getNode('seg').receive({ payload: png });
    await got;
    const res = await request().get('/mask-blur/redactor/sample');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /image\/jpeg/);
    const sample = await sharp(res.body).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([sample.info.width, sample.info.height], [W, H]);
    // Where the red square was, the sample shows the fill: it is the redacted image.
    const p = ((red.y + red.height / 2) * W + red.x + red.width / 2) * 3;
    const [r, g, b] = sample.data.subarray(p, p + 3);
    assert.ok(b > 200 && r < 60 && g < 60, `the red square is filled in the sample (${r}, ${g}, ${b})`);
  });
});
