/**
 * Paths that arrive in messages (from MQTT, HTTP, a file list) are confined
 * to the allowed roots of settings.js `redactAllowedRoots` (or the
 * REDACT_ALLOWED_ROOTS environment variable): with every symbolic link
 * resolved, sam3-segment, mask-blur and video-split read and write only
 * inside them, and say so clearly when a path is refused.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { liveProcessIds } from '../../src/video';
import { catchAll, inTab } from '../helpers/catch-flow';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { makeClip } from '../video/support/clips';
import { imageFlow as imageFlowOf, listAll, Outcomes, redImage, redShare, sha256, workWithModel } from './support';

const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule);
const catchNode = coreNode('common/25-catch.js');

interface Sent {
  filename?: string;
  payload?: unknown;
  video?: { output: string };
}

const refused = (what: string, file: RegExp): RegExp =>
  new RegExp(`^PathNotAllowedError: ${what} ${file.source} is outside the allowed folders \\(.*allowed\\); see redactAllowedRoots in settings\\.js$`);

describe('path confinement (redactAllowedRoots / REDACT_ALLOWED_ROOTS)', () => {
  useNodeRed();
  let work: string;
  let modelDir: string;
  let root: string;
  let outside: string;
  let inside: string;
  let secret: string;
  let clip: string;
  before(async () => {
    ({ work, modelDir } = await workWithModel('sam3-confine-'));
    root = path.join(work, 'allowed');
    outside = path.join(work, 'elsewhere');
    await fs.mkdir(path.join(root, 'in'), { recursive: true });
    await fs.mkdir(outside, { recursive: true });
    const png = await redImage();
    inside = path.join(root, 'in', 'photo.png');
    await fs.writeFile(inside, png);
    secret = path.join(outside, 'secret.png');
    await fs.writeFile(secret, png);
    clip = await makeClip(path.join(outside, 'secret.mp4'), { duration: 1 });
    await fs.copyFile(clip, path.join(root, 'in', 'clip.mp4'));
    // Links inside the root: to a file outside, to a folder outside, to a folder
    // outside that does not exist yet, and to a file inside (which is fine).
    await fs.symlink(secret, path.join(root, 'in', 'link-to-secret.png'));
    await fs.symlink(outside, path.join(root, 'elsewhere-link'), 'dir');
    await fs.symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling-link'), 'dir');
    await fs.symlink(inside, path.join(root, 'in', 'link-to-photo.png'));
    await fs.symlink(path.join(outside, 'leak.png'), path.join(root, 'dangling-file-link.png'));
    await fs.symlink(path.join(root, 'loop'), path.join(root, 'loop'));
  });
  after(() => {
    helper.settings({ redactAllowedRoots: undefined });
    delete process.env.REDACT_ALLOWED_ROOTS;
  });

  const imageFlow = (): FlowNode[] => imageFlowOf(modelDir);

  async function load(flow: FlowNode[] = imageFlow()): Promise<Outcomes<Sent>> {
    await helper.load([...ours, catchNode], flow);
    return new Outcomes<Sent>(helper.getNode('out'), helper.getNode('caught'));
  }

  /** Everything under `outside` apart from what the test put there. */
  async function writtenOutside(): Promise<string[]> {
    return (await listAll(outside)).filter((f) => f !== 'secret.png' && f !== 'secret.mp4');
  }

  describe('set in settings.js', () => {
    before(() => {
      helper.settings({ redactAllowedRoots: [root] });
    });

    const reads: Array<[string, () => string]> = [
      ['".." climbing out of the root', () => `${root}/in/../../elsewhere/secret.png`],
      ['an absolute path outside', () => secret],
      ['a link inside the root to a file outside', () => path.join(root, 'in', 'link-to-secret.png')],
      ['a path through a linked folder that leads outside', () => path.join(root, 'elsewhere-link', 'secret.png')],
    ];
    for (const [what, p] of reads) {
      test(`sam3-segment refuses ${what}`, async () => {
        const seen = await load();
        const hash = await sha256(secret);
        helper.getNode('seg').receive({ payload: p(), outputPath: path.join(root, 'out', 'x.png') });
        const r = await seen.next();
        assert.equal(r.sent.length, 0);
        assert.match(r.caught[0]?.error.message ?? '', refused('image', /.*secret\.png/));
        assert.equal(r.caught[0]?.error.source?.type, 'sam3-segment');
        assert.deepEqual(await listAll(path.join(root, 'out')), []);
        assert.equal(await sha256(secret), hash);
      });
    }

    test('mask-blur refuses an input path outside, even with detections already given', async () => {
      const seen = await load();
      helper.getNode('hider').receive({ payload: `${root}/../elsewhere/secret.png`, detections: [] });
      const r = await seen.next();
      assert.equal(r.sent.length, 0);
      assert.match(r.caught[0]?.error.message ?? '', refused('image', /.*secret\.png/));
      assert.equal(r.caught[0]?.error.source?.type, 'mask-blur');
    });

    const writes: Array<[string, () => string]> = [
      ['an absolute msg.outputPath outside', () => path.join(outside, 'leak.png')],
      ['an msg.outputPath with ".." climbing out', () => `${root}/out/../../elsewhere/leak.png`],
      ['an msg.outputPath through a linked folder that leads outside', () => path.join(root, 'elsewhere-link', 'leak.png')],
      ['an msg.outputPath through a link to a folder outside that does not exist yet', () => path.join(root, 'dangling-link', 'sub', 'leak.png')],
      ['an msg.outputPath that is a link to a file outside that does not exist yet', () => path.join(root, 'dangling-file-link.png')],
    ];
    for (const [what, p] of writes) {
      test(`mask-blur refuses ${what} and writes nothing anywhere`, async () => {
        const seen = await load();
        helper.getNode('seg').receive({ payload: inside, outputPath: p() });
        const r = await seen.next();
        assert.equal(r.sent.length, 0);
        assert.match(r.caught[0]?.error.message ?? '', refused('msg\\.outputPath', /.*(leak|dangling-file-link)\.png/));
        assert.deepEqual(await writtenOutside(), []);
        assert.deepEqual((await listAll(root)).filter((f) => f.startsWith('out')), []);
      });
    }

    test('a link loop in msg.outputPath is an error, not a hang', async () => {
      const seen = await load();
      helper.getNode('seg').receive({ payload: inside, outputPath: path.join(root, 'loop', 'x.png') });
      const r = await seen.next();
      assert.equal(r.sent.length, 0);
      assert.match(r.caught[0]?.error.message ?? '', /loop.*too many (levels of )?symbolic links/);
      assert.ok((await fs.lstat(path.join(root, 'loop'))).isSymbolicLink());
    });

    test('video-split refuses a video outside and an output outside, before starting ffmpeg', async () => {
      const flow = inTab([
        { id: 'model', type: 'sam3-model', modelDir },
        { id: 'splitter', type: 'video-split', wires: [['seg']] },
        { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], wires: [['hider']] },
        { id: 'hider', type: 'mask-blur', mode: 'fill', wires: [['encoder']] },
        { id: 'encoder', type: 'video-encode', preset: 'ultrafast', wires: [['out']] },
        { id: 'out', type: 'helper' },
        ...catchAll,
      ]);
      const seen = await load(flow);
      helper.getNode('splitter').receive({ payload: `${root}/in/../../elsewhere/secret.mp4` });
      const a = await seen.next();
      assert.match(a.caught[0]?.error.message ?? '', refused('video', /.*secret\.mp4/));
      helper.getNode('splitter').receive({ filename: clip });
      const b = await seen.next();
      assert.match(b.caught[0]?.error.message ?? '', refused('video', /.*secret\.mp4/));
      helper.getNode('splitter').receive({ payload: path.join(root, 'in', 'clip.mp4'), outputPath: path.join(root, 'elsewhere-link', 'leak.mp4') });
      const c = await seen.next();
      assert.match(c.caught[0]?.error.message ?? '', refused('msg\\.outputPath', /.*leak\.mp4/));
      assert.equal(seen.sent.length, 0);
      assert.deepEqual(liveProcessIds(), []);
      assert.deepEqual(await writtenOutside(), []);

      // Inside the root, the same flow works.
      helper.getNode('splitter').receive({ payload: path.join(root, 'in', 'clip.mp4'), outputPath: path.join(root, 'out', 'clip.mp4') });
      const d = await seen.next(60_000);
      assert.equal(d.caught.length, 0, d.caught[0]?.error.message);
      assert.equal(d.sent[0]?.video?.output, path.join(root, 'out', 'clip.mp4'));
      await fs.rm(path.join(root, 'out'), { recursive: true, force: true });
    });

    test('paths inside the root are used, links that stay inside included', async () => {
      const seen = await load();
      for (const input of [inside, path.join(root, 'in', 'link-to-photo.png'), `${root}/in/../in/photo.png`]) {
        helper.getNode('seg').receive({ payload: input, outputPath: path.join(root, 'out', 'photo.png') });
        const r = await seen.next();
        assert.equal(r.caught.length, 0, `${input}: ${r.caught[0]?.error.message}`);
        assert.equal(r.sent[0]?.filename, path.join(root, 'out', 'photo.png'));
        assert.equal(await redShare(path.join(root, 'out', 'photo.png')), 0);
      }
      await fs.rm(path.join(root, 'out'), { recursive: true, force: true });
    });
  });

  describe('set in the environment', () => {
    test('REDACT_ALLOWED_ROOTS confines when settings.js says nothing', async () => {
      helper.settings({ redactAllowedRoots: undefined });
      process.env.REDACT_ALLOWED_ROOTS = [path.join(work, 'unrelated'), root].join(path.delimiter);
      try {
        const seen = await load();
        helper.getNode('seg').receive({ payload: secret });
        const r = await seen.next();
        assert.match(r.caught[0]?.error.message ?? '', /^PathNotAllowedError: image .*secret\.png is outside the allowed folders \(.*unrelated, .*allowed\)/);
        helper.getNode('seg').receive({ payload: inside, outputPath: path.join(root, 'out', 'env.png') });
        const ok = await seen.next();
        assert.equal(ok.caught.length, 0, ok.caught[0]?.error.message);
        assert.equal(await redShare(path.join(root, 'out', 'env.png')), 0);
      } finally {
        delete process.env.REDACT_ALLOWED_ROOTS;
        await fs.rm(path.join(root, 'out'), { recursive: true, force: true });
      }
    });

    test('without any allowed roots, paths are not confined (the documented default)', async () => {
      helper.settings({ redactAllowedRoots: undefined });
      const seen = await load();
      const out = path.join(work, 'unconfined', 'secret.png');
      helper.getNode('seg').receive({ payload: secret, outputPath: out });
      const r = await seen.next();
      assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
      assert.equal(await redShare(out), 0);
    });
  });
});
