/**
 * A corpus of hostile and broken inputs, generated here, through real flows:
 * every one must end as a clear error (at a Catch node, or in failed/ with
 * its reason), write no output, leave the original byte-for-byte as it was,
 * and leave the runtime able to redact the next good file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { liveProcessIds, openFrameReader, probeVideo } from '../../src/video';
import { runFfmpeg } from '../../src/video/ffmpeg';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { makeClip, redBox } from '../video/support/clips';
import { exists, imageFlow as imageFlowOf, jpegClaiming, listAll, Outcomes, pngClaiming, redImage, redShare, sha256, until, videoFlow, watchedExample, workWithModel } from './support';

const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode', 'watch-folder'].map(nodeModule);
const core = ['common/25-catch.js', 'function/15-change.js', 'function/10-switch.js'].map(coreNode);

interface Case {
  name: string;
  /** The file's bytes, or how to make it. */
  make: (file: string) => Promise<void>;
  /** The error a user sees. */
  error: RegExp;
}

interface Redacted {
  payload: unknown;
  filename?: string;
  video?: { output: string; frames: number };
}

const write = (data: Buffer | string) => (file: string): Promise<void> => fs.writeFile(file, data);

describe('hostile input', () => {
  useNodeRed();
  let work: string;
  let modelDir: string;
  let png: Buffer;
  let jpeg: Buffer;
  let clip: Buffer;
  before(async () => {
    ({ work, modelDir } = await workWithModel('sam3-hostile-'));
    png = await redImage();
    jpeg = await redImage(200, 140, 'jpeg');
    clip = readFileSync(await makeClip(path.join(work, 'clip.mp4'), { duration: 1 }));
  });

  describe('images through sam3-segment -> mask-blur with msg.outputPath, paths confined to a root', () => {
    let root: string;
    let corpus: string;
    let out: string;
    let secret: string;
    before(async () => {
      // A hardened set-up: message paths may only point into `root`.
      root = path.join(work, 'images');
      corpus = path.join(root, 'corpus');
      out = path.join(root, 'out');
      await fs.mkdir(corpus, { recursive: true });
      await fs.mkdir(path.join(work, 'outside'), { recursive: true });
      secret = path.join(work, 'outside', 'secret.png');
      await fs.writeFile(secret, png);
      helper.settings({ redactAllowedRoots: [root] });
    });
    after(() => {
      helper.settings({ redactAllowedRoots: undefined });
    });

    const flow = (): FlowNode[] => imageFlowOf(modelDir);

    const cases: Case[] = [
      { name: 'empty.png', make: write(''), error: /image file .*empty\.png is empty/ },
      { name: 'empty.jpg', make: write(''), error: /image file .*empty\.jpg is empty/ },
      { name: 'truncated.jpg', make: (f) => fs.writeFile(f, jpeg.subarray(0, Math.floor(jpeg.length / 3))), error: /truncated\.jpg could not be decoded/ },
      { name: 'truncated.png', make: (f) => fs.writeFile(f, png.subarray(0, Math.floor(png.length / 3))), error: /truncated\.png could not be decoded/ },
      { name: 'notes.png', make: write('Dear diary, this is not a picture.\n'), error: /notes\.png could not be decoded/ },
      { name: 'noise.jpg', make: write(randomBytes(8192)), error: /noise\.jpg could not be decoded/ },
      { name: 'movie.png', make: (f) => fs.writeFile(f, clip), error: /movie\.png could not be decoded/ },
      { name: 'huge-header.png', make: write(pngClaiming(100_000, 100_000)), error: /huge-header\.png is 100000x100000, over the limit of \d+ pixels/ },
      { name: 'huge-header.jpg', make: (f) => fs.writeFile(f, jpegClaiming(jpeg, 65_000, 65_000)), error: /huge-header\.jpg is 65000x65000, over the limit of \d+ pixels/ },
      { name: 'folder.png', make: (f) => fs.mkdir(f), error: /folder\.png is not a file/ },
      { name: 'missing.png', make: async () => undefined, error: /cannot read image file .*missing\.png: ENOENT/ },
    ];

    for (const c of cases) {
      test(`${c.name}: a clear error at the Catch node, no output, original untouched; the next image still works`, async () => {
        const input = path.join(corpus, c.name);
        await c.make(input);
        const before = (await exists(input)) && (await fs.stat(input)).isFile() ? await sha256(input) : undefined;
        await helper.load([...ours, ...core], flow());
        const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));

        const rssBefore = process.memoryUsage().rss;
        helper.getNode('seg').receive({ payload: input, outputPath: path.join(out, c.name) });
        const r = await seen.next();
        assert.equal(r.sent.length, 0, 'nothing may leave the flow');
        assert.equal(r.caught.length, 1, 'exactly one error reaches the Catch node');
        assert.match(r.caught[0].error.message, c.error);
        assert.deepEqual(await listAll(out), [], 'no output file, and no temporary one');
        if (before) assert.equal(await sha256(input), before, 'the original is unchanged');
        if (c.name.startsWith('huge-header')) {
          // A decoder that trusted the header would want 30 GB (PNG) or 12 GB (JPEG) of pixels:
          // memory, not time, shows that none were decoded (timings belong in bench/).
          const grew = process.memoryUsage().rss - rssBefore;
          assert.ok(grew < 200e6, `memory grew by ${(grew / 1e6).toFixed(0)} MB`);
        }

        // The runtime goes on: a good image sent next is redacted.
        const good = path.join(corpus, `good-after-${c.name}.png`);
        await fs.writeFile(good, png);
        helper.getNode('seg').receive({ payload: good, outputPath: path.join(out, 'good.png') });
        const next = await seen.next();
        assert.equal(next.caught.length, 0, next.caught[0]?.error.message);
        assert.equal(next.sent.length, 1);
        assert.equal(await redShare(path.join(out, 'good.png')), 0, 'the next image is redacted');
        await fs.rm(out, { recursive: true, force: true });
      });
    }

    test('a path with ".." that climbs out of the allowed root is refused before anything is read', async () => {
      await helper.load([...ours, ...core], flow());
      const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));
      const before = await sha256(secret);
      const escape = `${corpus}/../../outside/secret.png`;
      helper.getNode('seg').receive({ payload: escape, outputPath: path.join(out, 'secret.png') });
      const r = await seen.next();
      assert.equal(r.sent.length, 0);
      assert.match(r.caught[0]?.error.message ?? '', /^PathNotAllowedError: image .*secret\.png is outside the allowed folders \(.*images\); see redactAllowedRoots in settings\.js$/);
      assert.deepEqual(await listAll(out), []);
      assert.equal(await sha256(secret), before);
    });

    for (const name of ['ünïcödé 名前  with   spaces 😀.png', "it's a \"photo\" #1 (copy).png", 'a png named.jpg']) {
      test(`"${name}" is redacted like any other file`, async () => {
        const input = path.join(corpus, name);
        await fs.writeFile(input, png);
        const before = await sha256(input);
        await helper.load([...ours, ...core], flow());
        const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));
        helper.getNode('seg').receive({ payload: input, outputPath: path.join(out, name) });
        const r = await seen.next();
        assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
        assert.equal(r.sent[0].filename, path.join(out, name));
        assert.deepEqual(await listAll(out), [name]);
        assert.ok((await redShare(input)) > 0.05, 'the input shows the red target');
        assert.equal(await redShare(path.join(out, name)), 0, 'the output hides it');
        assert.equal(await sha256(input), before);
        await fs.rm(out, { recursive: true, force: true });
      });
    }
  });

  describe('videos through video-split -> sam3-segment -> mask-blur -> video-encode', () => {
    let corpus: string;
    let out: string;
    before(async () => {
      corpus = path.join(work, 'videos');
      out = path.join(work, 'videos-out');
      await fs.mkdir(corpus, { recursive: true });
    });

    const flow = (): FlowNode[] => videoFlow(modelDir, { window: 16, stride: 4 });

    const ffmpeg = async (file: string, args: string[]): Promise<void> => {
      const r = await runFfmpeg(['-hide_banner', '-v', 'error', '-y', ...args, file]);
      if (r.code !== 0) throw new Error(`making ${file}: ${r.stderr}`);
    };

    const cases: Case[] = [
      { name: 'empty.mp4', make: write(''), error: /empty\.mp4": the file is empty/ },
      { name: 'truncated.mp4', make: (f) => fs.writeFile(f, clip.subarray(0, Math.floor(clip.length / 2))), error: /truncated\.mp4" as a video: moov atom not found/ },
      {
        name: 'truncated-faststart.mp4',
        make: async (f) => {
          const whole = readFileSync(await makeClip(path.join(work, 'fs.mp4'), { duration: 2, faststart: true }));
          await fs.writeFile(f, whole.subarray(0, Math.floor(whole.length * 0.6)));
        },
        error: /truncated-faststart\.mp4": the file is truncated/,
      },
      { name: 'notes.mp4', make: write('Dear diary, this is not a video either.\n'), error: /notes\.mp4" as a video/ },
      { name: 'noise.mov', make: write(randomBytes(65536)), error: /noise\.mov" as a video/ },
      { name: 'audio-only.mp4', make: (f) => ffmpeg(f, ['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac']), error: /audio-only\.mp4" has no video stream \(it has: audio\)/ },
      { name: 'missing.mp4', make: async () => undefined, error: /missing\.mp4/ },
    ];

    for (const c of cases) {
      test(`${c.name}: a clear error at the Catch node, no output, no ffmpeg left; the next video still works`, async () => {
        const input = path.join(corpus, c.name);
        await c.make(input);
        const before = (await exists(input)) ? await sha256(input) : undefined;
        await helper.load([...ours, ...core], flow());
        const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));
        helper.getNode('splitter').receive({ payload: input, outputPath: path.join(out, 'result.mp4') });
        const r = await seen.next(30_000, 800);
        assert.equal(r.sent.length, 0);
        assert.equal(r.caught.length, 1, 'exactly one error reaches the Catch node');
        assert.match(r.caught[0].error.message, c.error);
        assert.deepEqual(await listAll(out), [], 'no output file, and no temporary one');
        assert.deepEqual(liveProcessIds(), [], 'no ffmpeg left running');
        if (before) assert.equal(await sha256(input), before, 'the original is unchanged');

        const good = path.join(corpus, 'good.mp4');
        await fs.writeFile(good, clip);
        helper.getNode('splitter').receive({ payload: good, outputPath: path.join(out, 'good.mp4') });
        const next = await seen.next(60_000);
        assert.equal(next.caught.length, 0, next.caught[0]?.error.message);
        assert.equal(next.sent[0]?.video?.output, path.join(out, 'good.mp4'));
        await fs.rm(out, { recursive: true, force: true });
      });
    }

    test('a picture named .mp4 is read as what it is (a one-frame video) and redacted, never passed through', async () => {
      const input = path.join(corpus, 'photo.mp4');
      await fs.writeFile(input, jpeg);
      await helper.load([...ours, ...core], flow());
      const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));
      helper.getNode('splitter').receive({ payload: input, outputPath: path.join(out, 'photo-redacted.mp4') });
      const r = await seen.next(60_000);
      assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
      const output = r.sent[0]?.video?.output as string;
      let frames = 0;
      for await (const f of await openFrameReader(output)) {
        assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, 'the red target is hidden');
        frames++;
      }
      assert.equal(frames, 1);
      await fs.rm(out, { recursive: true, force: true });
    });

    for (const name of ['vidéo  d’été 🎥 (final).mp4']) {
      test(`"${name}" is redacted like any other video`, async () => {
        const input = path.join(corpus, name);
        await fs.writeFile(input, clip);
        await helper.load([...ours, ...core], flow());
        const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));
        helper.getNode('splitter').receive({ payload: input });
        const r = await seen.next(60_000);
        assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
        const output = path.join(corpus, 'vidéo  d’été 🎥 (final)-redacted.mp4');
        assert.equal(r.sent[0]?.video?.output, output);
        for await (const f of await openFrameReader(output)) assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red in frame ${f.index}`);
      });
    }

    test('a video of hundreds of tiny frames goes through whole, in bounded time', async () => {
      const input = path.join(corpus, 'tiny.mp4');
      // 8x6 pixels, 100 frames a second for 5 s: 500 frames, each one a message through the flow.
      await ffmpeg(input, ['-f', 'lavfi', '-i', 'testsrc=s=8x6:r=100:d=5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p']);
      const source = await probeVideo(input);
      assert.equal(source.frameCount, 500);
      await helper.load([...ours, ...core], flow());
      const seen = new Outcomes<Redacted>(helper.getNode('out'), helper.getNode('caught'));
      helper.getNode('splitter').receive({ payload: input, outputPath: path.join(out, 'tiny.mp4') });
      const r = await seen.next(60_000);
      assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
      assert.equal(r.sent[0]?.video?.frames, 500);
      const written = await probeVideo(path.join(out, 'tiny.mp4'));
      assert.equal(written.frameCount, 500);
      assert.deepEqual([written.width, written.height], [8, 6]);
      assert.deepEqual(liveProcessIds(), []);
    });
  });

  describe('the watched folder (examples/watched-folder-redaction.json)', () => {
    test('links out of the folder, broken and empty files go to failed/ with their reason; odd names are redacted; the folder keeps working', async () => {
      const base = path.join(work, 'watched');
      const inbox = path.join(base, 'in');
      const out = path.join(base, 'out');
      const outside = path.join(base, 'outside');
      await fs.mkdir(inbox, { recursive: true });
      await fs.mkdir(outside, { recursive: true });
      const flow = watchedExample(modelDir, { inbox, out });
      await helper.load([...ours, ...core], flow);

      const secretFile = path.join(outside, 'secret.png');
      await fs.writeFile(secretFile, png);
      const secretHash = await sha256(secretFile);
      const bad: Record<string, { data?: Buffer | string; link?: string; reason: RegExp }> = {
        'link to outside.png': { link: secretFile, reason: /symbolic links are not followed/ },
        'empty.jpg': { data: '', reason: /is empty/ },
        'truncated.png': { data: png.subarray(0, 120), reason: /could not be decoded/ },
        'notes.png': { data: 'not an image\n', reason: /could not be decoded/ },
        'huge-header.png': { data: pngClaiming(100_000, 100_000), reason: /over the limit of \d+ pixels/ },
        'empty.mp4': { data: '', reason: /the file is empty/ },
        'notes.mov': { data: 'not a video\n', reason: /as a video/ },
      };
      const good = ['ünïcödé 名前  with   spaces 😀.png', 'vidéo d’été 🎥.mp4', "it's \"quoted\" #1.png"];
      // Written beside the folder, then renamed in: each file arrives whole.
      const stage = path.join(base, 'stage');
      await fs.mkdir(stage, { recursive: true });
      const hashes = new Map<string, string>();
      for (const [name, spec] of Object.entries(bad)) {
        if (spec.link) {
          await fs.symlink(spec.link, path.join(inbox, name));
          continue;
        }
        await fs.writeFile(path.join(stage, name), spec.data ?? '');
        hashes.set(name, await sha256(path.join(stage, name)));
        await fs.rename(path.join(stage, name), path.join(inbox, name));
      }
      for (const name of good) {
        await fs.writeFile(path.join(stage, name), name.endsWith('.mp4') ? clip : png);
        await fs.rename(path.join(stage, name), path.join(inbox, name));
      }

      const failed = path.join(inbox, 'failed');
      const done = path.join(inbox, 'done');
      await until(async () => (await listAll(failed)).length === 2 * Object.keys(bad).length, 60_000, 'every bad file in failed/');
      await until(async () => (await listAll(done)).length === good.length, 60_000, 'every good file in done/');

      for (const [name, spec] of Object.entries(bad)) {
        const reason = await fs.readFile(path.join(failed, `${name}.error.txt`), 'utf8');
        assert.match(reason, spec.reason, `${name}: ${reason}`);
        const hash = hashes.get(name);
        if (hash) assert.equal(await sha256(path.join(failed, name)), hash, `${name} moved to failed/ unchanged`);
      }
      assert.ok((await fs.lstat(path.join(failed, 'link to outside.png'))).isSymbolicLink(), 'the link itself is quarantined');
      assert.equal(await sha256(secretFile), secretHash, 'the file the link pointed at is untouched');

      const outputs = (await listAll(out)).filter((f) => !f.endsWith('.audit.json'));
      assert.deepEqual(outputs, [...good].sort(), 'outputs for the good files only');
      for (const name of good.filter((n) => n.endsWith('.png'))) assert.equal(await redShare(path.join(out, name)), 0, `${name} is redacted`);
      for await (const f of await openFrameReader(path.join(out, 'vidéo d’été 🎥.mp4'))) assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null);

      // Still watching: one more photo goes through.
      await fs.writeFile(path.join(stage, 'after.png'), png);
      await fs.rename(path.join(stage, 'after.png'), path.join(inbox, 'after.png'));
      await until(() => exists(path.join(done, 'after.png')), 30_000, 'after.png in done/');
      assert.equal(await redShare(path.join(out, 'after.png')), 0);
      assert.deepEqual((await listAll(inbox)).filter((f) => !/^(done|failed|\.processing)(\/|$)/.test(f)), [], 'nothing left unaccounted for in the folder');
      assert.deepEqual(await listAll(path.join(inbox, '.processing')), []);
    });
  });
});
