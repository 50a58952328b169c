/**
 * What a viewer can see is what gets redacted. Translucent PNGs whose text
 * lives in the alpha channel, or is white on transparent, or hides in colour
 * under alpha 0; SVG (which a decoder given a path resolves against the
 * folder, and given bytes does not) and images with several pages, refused;
 * and a file changed between detection and redaction, which must not let the
 * second version through. Checked without OCR: alpha compared with the
 * input, and pixel texture inside each line's ink box.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Box } from '../../src/common/types';
import { resolveFfmpegPath } from '../../src/video';
import { catchAll, inTab } from '../helpers/catch-flow';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { lineInk, sceneSvg, type Scene } from '../text/support/render';
import { DOCUMENT } from '../text/support/scenes';
import { cannotRun, imageFlow, Outcomes, redImage, redShare, RED_TARGET, workWithModel } from './support';

const nodes = ['sam3-model', 'sam3-segment', 'mask-blur'].map(nodeModule);
const core = [coreNode('common/25-catch.js')];

interface Rgba {
  data: Buffer;
  width: number;
  height: number;
}

/** The scene's lines drawn in one colour on a transparent background: their ink is the alpha channel. */
async function alphaText(scene: Scene, rgb: number): Promise<Buffer> {
  const svg = sceneSvg({ ...scene, background: 'none', panels: [], decoration: undefined, lines: scene.lines.map((l) => ({ ...l, fill: '#000' })) });
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  // Colour the same everywhere: only alpha tells text from background.
  for (let i = 0; i < data.length; i += 4) data[i] = data[i + 1] = data[i + 2] = rgb;
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
}

async function rgbaOf(png: Buffer): Promise<Rgba> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Share of the pixels (indices) that are fully opaque. */
function opaqueShare(img: Rgba, pixels: number[]): number {
  let n = 0;
  for (const p of pixels) if (img.data[p * 4 + 3] === 255) n++;
  return n / pixels.length;
}

/** Mean difference between horizontal neighbours inside the box, of the image composited over a grey level. */
function texture(img: Rgba, box: Box, background: number): number {
  const lum = (x: number, y: number): number => {
    const i = (y * img.width + x) * 4;
    const a = img.data[i + 3] / 255;
    return (0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2]) * a + background * (1 - a);
  };
  let sum = 0, n = 0;
  for (let y = box[1]; y < box[3]; y++) for (let x = box[0] + 1; x < box[2]; x++, n++) sum += Math.abs(lum(x, y) - lum(x - 1, y));
  return sum / n;
}

describe('what a viewer can see is what gets redacted', () => {
  useNodeRed();

  describe('translucent images (the bundled text detector, no SAM 3)', () => {
    let missing: string;
    before(() => {
      missing = path.join(tempDir(), 'no-sam3');
    });

    async function redact(png: Buffer): Promise<{ payload: Buffer; detections: unknown[] }> {
      await helper.load([...nodes, ...core], inTab([
        { id: 'model', type: 'sam3-model', modelDir: missing },
        { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'text' }], wires: [['hider']] },
        { id: 'hider', type: 'mask-blur', wires: [['out']] },
        { id: 'out', type: 'helper' },
        ...catchAll,
      ]));
      const caught = nextMessage<{ error: { message: string } }>(helper.getNode('caught')).then((m) => {
        throw new Error(m.error.message);
      });
      const out = nextMessage<{ payload: Buffer; detections: unknown[] }>(helper.getNode('out'), 60_000);
      helper.getNode('seg').receive({ payload: png });
      return Promise.race([out, caught]);
    }

    for (const [what, rgb, background] of [
      ['text that differs from its background only in alpha', 0, 255],
      ['white text on a transparent background (invisible over white)', 255, 0],
    ] as const) {
      test(`${what}: every line is found, its alpha becomes opaque and its colour loses its texture`, async () => {
        const input = await alphaText(DOCUMENT, rgb);
        const out = await redact(input);
        const before = await rgbaOf(input);
        const after = await rgbaOf(out.payload);
        assert.ok(out.detections.length >= DOCUMENT.lines.length - 1, `lines found: ${out.detections.length}`);
        for (let i = 0; i < DOCUMENT.lines.length; i++) {
          const { box, pixels } = await lineInk(DOCUMENT, i);
          assert.ok(opaqueShare(before, pixels) < 0.9, 'the input carries the line in its alpha');
          const opaque = opaqueShare(after, pixels);
          assert.ok(opaque > 0.99, `line ${i} (${DOCUMENT.lines[i].text}): alpha is opaque over the line's ink (${opaque.toFixed(3)})`);
          const t0 = texture(before, box, background);
          const t1 = texture(after, box, background);
          assert.ok(t1 < t0 / 4, `line ${i} (${DOCUMENT.lines[i].text}): texture ${t0.toFixed(1)} -> ${t1.toFixed(1)} on the background it is read on`);
        }
      });
    }

    test('colour hidden under alpha 0 is cleared, so it cannot be recovered by dropping the alpha', async () => {
      // Text in the colour channels, every pixel fully transparent: a viewer sees nothing, a tool that drops alpha sees text.
      const { data, info } = await sharp(Buffer.from(sceneSvg(DOCUMENT))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const rgba = Buffer.alloc(info.width * info.height * 4);
      for (let p = 0; p < info.width * info.height; p++) data.copy(rgba, p * 4, p * 3, p * 3 + 3);
      const out = await rgbaOf((await redact(await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer())).payload);
      let hidden = 0;
      for (let i = 0; i < out.data.length; i += 4) if (out.data[i + 3] === 0 && (out.data[i] | out.data[i + 1] | out.data[i + 2])) hidden++;
      assert.equal(hidden, 0, 'no colour left under alpha 0');
    });
  });

  describe('one read of the bytes, and only formats the README lists', () => {
    let work: string;
    let modelDir: string;
    before(async () => {
      ({ work, modelDir } = await workWithModel('sam3-viewer-'));
    });

    async function outcome(msg: Record<string, unknown>, flow = imageFlow(modelDir)): Promise<{ sent: Array<{ payload: Buffer }>; error?: string }> {
      await helper.unload();
      await helper.load([...nodes, ...core], flow);
      const seen = new Outcomes<{ payload: Buffer }>(helper.getNode('out'), helper.getNode('caught'));
      helper.getNode('seg').receive(msg);
      const r = await seen.next(30_000);
      return { sent: r.sent, error: r.caught[0]?.error.message };
    }

    test('an SVG is refused by its content, whatever its name: a same-folder reference it would resolve never reaches the output', async () => {
      const dir = path.join(work, 'svg');
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'secret.png'), await redImage());
      // librsvg resolves this against the file's folder when given a path, and not when given bytes.
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="140"><image xlink:href="secret.png" width="200" height="140"/></svg>`;
      for (const name of ['card.svg', 'card.png']) {
        await fs.writeFile(path.join(dir, name), svg);
        const r = await outcome({ payload: path.join(dir, name), outputPath: path.join(dir, `out-${name}.png`) });
        assert.equal(r.sent.length, 0, `${name}: nothing sent`);
        assert.match(r.error ?? '', /is SVG, which is not redacted: accepted are JPEG, PNG, WebP, TIFF, GIF, AVIF/);
        await assert.rejects(fs.access(path.join(dir, `out-${name}.png`)), `${name}: no output written`);
      }
    });

    test('a multi-page TIFF and an animated GIF are refused, never written as their first page alone', async (t) => {
      const pages = await sharp(Buffer.alloc(200 * 420 * 3, 128), { raw: { width: 200, height: 420, channels: 3, pageHeight: 140 } }).tiff().toBuffer();
      assert.equal((await sharp(pages).metadata()).pages, 3);
      const gif = path.join(work, 'anim.gif');
      const made = spawnSync(resolveFfmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=200x140:rate=5:duration=1', gif]);
      if (made.status !== 0) return cannotRun(t, `ffmpeg could not make an animated GIF: ${made.stderr.toString()}`);
      for (const [name, data] of [['pages.tiff', pages], ['anim.gif', await fs.readFile(gif)]] as const) {
        const r = await outcome({ payload: data });
        assert.equal(r.sent.length, 0, `${name}: nothing sent`);
        assert.match(r.error ?? '', /has \d+ pages or frames .*only single images are redacted/, name);
      }
    });

    test('a file changed between detection and redaction: the redaction uses the bytes detection saw', async () => {
      const file = path.join(work, 'changing.png');
      await fs.writeFile(file, await redImage());
      const flow = imageFlow(modelDir);
      // A step between detection and redaction, during which the file on disk is replaced.
      (flow.find((n) => n.id === 'seg') as FlowNode).wires = [['between']];
      flow.push({ id: 'between', type: 'helper', z: 'tab1' });
      await helper.load([...nodes, ...core], flow);
      const seen = new Outcomes<{ payload: Buffer }>(helper.getNode('out'), helper.getNode('caught'));
      helper.getNode('between').on('input', (msg: Record<string, unknown>) => {
        // Another picture, its red target elsewhere.
        void moved().then(async (other) => {
          await fs.writeFile(file, other);
          helper.getNode('hider').receive(msg);
        });
      });
      helper.getNode('seg').receive({ payload: file });
      const r = await seen.next(30_000);
      assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
      assert.equal(await redShare(r.sent[0].payload), 0, 'no red in the output: it is the first version, redacted');
    });
  });
});

/** redImage with its target moved to the lower right. */
async function moved(): Promise<Buffer> {
  const img = await redImage();
  const { data, info } = await sharp(img).raw().toBuffer({ resolveWithObject: true });
  const flipped = Buffer.alloc(data.length);
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const s = (y * info.width + x) * 3;
      const d = ((info.height - 1 - y) * info.width + (info.width - 1 - x)) * 3;
      data.copy(flipped, d, s, s + 3);
    }
  }
  assert.ok(RED_TARGET.x < info.width / 2, 'the target moves');
  return sharp(flipped, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
}
