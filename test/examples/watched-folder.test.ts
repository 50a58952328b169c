import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { openFrameReader } from '../../src/video';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { roughness, textured } from '../helpers/textured';
import { makeClip, redBox } from '../video/support/clips';
import { coverMap, encodePng, inkCovered, lineInk, renderScene } from '../text/support/render';
import { DOCUMENT } from '../text/support/scenes';
import { readingSimilarity, RedactionEngine } from '../../src/engine';

const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'watched-folder-redaction.json');
const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode', 'watch-folder'].map(nodeModule);
const core = ['function/15-change.js', 'function/10-switch.js', 'common/25-catch.js'].map(coreNode);

async function waitFor(file: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await fs.access(file);
      return;
    } catch {
      if (Date.now() > end) throw new Error(`${file} never appeared`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('examples/watched-folder-redaction.json', () => {
  useNodeRed();

  test('photos and videos dropped in the folder come out redacted; a corrupt file goes to failed with its reason', async () => {
    const work = tempDir();
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    const inbox = path.join(work, 'in');
    const out = path.join(work, 'out');
    await fs.mkdir(inbox, { recursive: true });
    Object.assign(process.env, { SAM3_MODEL_DIR: modelDir, REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red' });
    const flow = JSON.parse(readFileSync(example, 'utf8')) as FlowNode[];
    // Flat test shapes: fill makes "is any red left?" exact (see the video example test).
    for (const n of flow) if (n.type === 'mask-blur') n.mode = 'fill';
    // A privacy zone in the top-left corner, as drawn in the dialog: the audits name it.
    for (const n of flow) if (n.type === 'mask-blur') n.zones = [{ name: 'corner', points: [[0, 0], [0.1, 0], [0, 0.1]] }];
    await helper.load([...ours, ...core], flow);
    // What the log says of each file: one line each, successes and failures alike.
    const logged: string[] = [];
    const watcher = helper.getNode((flow.find((n) => n.type === 'watch-folder') as FlowNode).id);
    for (const level of ['log', 'warn']) watcher.on(`call:${level}`, (call: { args: unknown[] }) => logged.push(String(call.args[0])));

    const W = 200, H = 140;
    const target = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red, pattern: [200, 30, 30] as [number, number, number] };
    const png = await sharp(Buffer.from(textured(W, H, [target]).data), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    await fs.writeFile(path.join(inbox, 'a.png'), png);
    await fs.writeFile(path.join(inbox, 'b.png'), png);
    await fs.writeFile(path.join(inbox, 'broken.png'), png.subarray(0, 100));
    await makeClip(path.join(work, 'clip.mp4'), { duration: 1, audio: 1 });
    await fs.rename(path.join(work, 'clip.mp4'), path.join(inbox, 'clip.mp4'));

    for (const f of ['a.png', 'b.png', 'clip.mp4']) await waitFor(path.join(inbox, 'done', f));
    await waitFor(path.join(inbox, 'failed', 'broken.png.error.txt'));

    for (const f of ['a.png', 'b.png']) {
      const raw = await sharp(path.join(out, f)).raw().toBuffer();
      assert.ok(roughness(raw, W, target) < 1, `${f}: the red shape is filled`);
      const audit = JSON.parse(await fs.readFile(path.join(out, `${f}.audit.json`), 'utf8')) as { prompts: string[]; modelId: string; instancesPerLabel: Record<string, { instances: number }> };
      assert.deepEqual(audit.prompts, ['red']);
      assert.match(audit.modelId, /^sha256:/);
      assert.ok(audit.instancesPerLabel.red.instances >= 1);
      const zones = (audit as { zones?: Array<{ name: string; pixels: number }> }).zones;
      assert.equal(zones?.[0]?.name, 'corner', `${f}: the audit names the zone`);
      assert.ok((zones?.[0]?.pixels ?? 0) > 0);
    }
    for await (const f of await openFrameReader(path.join(out, 'clip.mp4'))) assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red in frame ${f.index}`);
    const videoAudit = JSON.parse(await fs.readFile(path.join(out, 'clip.mp4.audit.json'), 'utf8')) as { prompts: string[]; modelId: string; video: { frames: number } };
    assert.equal(videoAudit.video.frames, 15);
    assert.deepEqual((videoAudit as { zones?: string[] }).zones, ['corner'], 'the video audit names the zone');
    assert.deepEqual(videoAudit.prompts, ['red'], 'the video audit says what was looked for');
    assert.match(videoAudit.modelId, /^sha256:/, 'and by which model');
    assert.match(await fs.readFile(path.join(inbox, 'failed', 'broken.png.error.txt'), 'utf8'), /could not be decoded/);
    assert.ok(!(await fs.readdir(out)).some((f) => f.startsWith('broken')));
    const lineOf = (name: string): string[] => logged.filter((l) => l.startsWith(`${name} `));
    for (const f of ['a.png', 'b.png']) assert.match(lineOf(f).join('|'), new RegExp(`^${f.replace('.', '\\.')} redacted in \\d+\\.\\d s: red [1-9], zone 1$`));
    assert.match(lineOf('clip.mp4').join('|'), /^clip\.mp4 redacted in \d+\.\d s: 15 frames, tracks: red [1-9]$/);
    assert.match(lineOf('broken.png').join('|'), /^broken\.png failed after \d+\.\d s, moved to failed: .*could not be decoded/);
  });

  test('a fresh install with no SAM 3 model and no REDACT_PROMPTS redacts the text of dropped images (faces, plates and text by default); a prompt that needs SAM 3 fails the file', async () => {
    const work = tempDir();
    const inbox = path.join(work, 'in');
    const out = path.join(work, 'out');
    await fs.mkdir(inbox, { recursive: true });
    Object.assign(process.env, { SAM3_MODEL_DIR: path.join(work, 'no-model'), REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out });
    delete process.env.REDACT_PROMPTS;
    await helper.load([...ours, ...core], JSON.parse(readFileSync(example, 'utf8')) as FlowNode[]);
    await fs.writeFile(path.join(inbox, 'letter.png'), await encodePng(await renderScene(DOCUMENT)));
    await waitFor(path.join(inbox, 'done', 'letter.png'));

    const audit = JSON.parse(await fs.readFile(path.join(out, 'letter.png.audit.json'), 'utf8')) as { prompts: string[]; instancesPerLabel: Record<string, { instances: number }> };
    assert.deepEqual(audit.prompts, ['face', 'license plate', 'text'], 'the default prompts, all answered by the bundled detectors');
    assert.equal(audit.instancesPerLabel.text.instances, DOCUMENT.lines.length);
    // Read back what a person would: every line is found in the input and none is legible in the output.
    const engine = await RedactionEngine.load({});
    try {
      const original = await encodePng(await renderScene(DOCUMENT));
      const found = await engine.segment(original, 'text');
      const map = coverMap(found.instances, DOCUMENT.width, DOCUMENT.height);
      for (let i = 0; i < DOCUMENT.lines.length; i++) assert.ok(inkCovered(await lineInk(DOCUMENT, i), map) >= 0.99);
      const check = await engine.verifyRedaction(original, await fs.readFile(path.join(out, 'letter.png')), found.instances);
      assert.deepEqual(check.legible, [], JSON.stringify(check.lines));
      assert.ok(check.lines.every((l) => readingSimilarity(l.before, l.after) <= 0.3));
    } finally {
      await engine.close();
    }

    // Asked for something only SAM 3 finds, with no SAM 3: failed, with the reason, and no output.
    process.env.REDACT_PROMPTS = 'computer screen';
    await helper.unload();
    await helper.load([...ours, ...core], JSON.parse(readFileSync(example, 'utf8')) as FlowNode[]);
    await fs.writeFile(path.join(inbox, 'portrait.png'), await encodePng(await renderScene(DOCUMENT)));
    await waitFor(path.join(inbox, 'failed', 'portrait.png.error.txt'));
    assert.match(await fs.readFile(path.join(inbox, 'failed', 'portrait.png.error.txt'), 'utf8'), /"computer screen" needs the SAM 3 model/);
    assert.ok(!(await fs.readdir(out)).some((f) => f.startsWith('portrait')));
    delete process.env.REDACT_PROMPTS;
  });
});
