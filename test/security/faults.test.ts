/**
 * Faults in the middle of a job: ffmpeg killed, the output folder read-only,
 * the disk full, Node-RED redeployed. Each time the job must fail (reported,
 * never silently dropped), no redacted-looking or partial file may be left,
 * no ffmpeg may keep running, and the next job must work.
 *
 * The inference host killed mid-image and mid-video is tested where the
 * engine and the video nodes are (test/engine/engine.test.ts, "a crashed
 * inference host ..."; test/nodes/video.test.ts, "an inference host killed
 * mid-video ...").
 *
 * Read-only folder: as a normal user, chmod 0555. Root ignores file modes,
 * so as root the folder is a read-only tmpfs mount instead (EROFS holds for
 * root too). Full disk: a 1 MiB tmpfs. Mounting needs root or
 * CAP_SYS_ADMIN; where that is missing these cases are skipped with the
 * reason, except in CI (process.env.CI), which runs as root and must run them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import sharp from 'sharp';
import { liveProcessIds, openFrameReader, probeVideo } from '../../src/video';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { makeClip, redBox } from '../video/support/clips';
import { cannotRun, decoderPid, encoderPid, exists, imageFlow as imageFlowOf, listAll, logged, mountTmpfs, Outcomes, redImage, redShare, sleep, unmount, until, usedBytes, videoFlow as videoFlowOf, watchedExample, workWithModel } from './support';

const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode', 'watch-folder'].map(nodeModule);
const core = ['common/25-catch.js', 'function/15-change.js', 'function/10-switch.js'].map(coreNode);

interface Sent {
  filename?: string;
  video?: { output: string; frames: number };
}

/** Every frame of a written video is free of the red target. */
async function assertRedacted(video: string): Promise<number> {
  let frames = 0;
  for await (const f of await openFrameReader(video)) {
    assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red visible in frame ${f.index} of ${video}`);
    frames++;
  }
  return frames;
}

describe('faults mid-job', () => {
  useNodeRed();
  let work: string;
  let modelDir: string;
  let clip: string;
  let png: Buffer;
  before(async () => {
    ({ work, modelDir } = await workWithModel('sam3-faults-'));
    clip = await makeClip(path.join(work, 'clip.mp4'), { duration: 4, audio: 1 });
    png = await redImage();
  });

  const videoFlow = (): FlowNode[] => videoFlowOf(modelDir, { window: 8, stride: 2 });

  const imageFlow = (): FlowNode[] => imageFlowOf(modelDir);

  async function load(flow: FlowNode[]): Promise<Outcomes<Sent>> {
    await helper.load([...ours, ...core], flow);
    return new Outcomes<Sent>(helper.getNode('out'), helper.getNode('caught'));
  }

  /** A good video after the fault: written whole and redacted. */
  async function nextVideoWorks(seen: Outcomes<Sent>, output: string): Promise<void> {
    helper.getNode('splitter').receive({ payload: clip, outputPath: output });
    const r = await seen.next(60_000);
    assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
    assert.equal(r.sent[0]?.video?.output, output);
    assert.equal(await assertRedacted(output), (await probeVideo(clip)).frameCount);
  }

  describe('ffmpeg killed', () => {
    for (const which of ['encoder', 'decoder'] as const) {
      test(`the ${which} killed mid-video: the job fails at the Catch node, no output or temp file, no ffmpeg left; the next video works`, async () => {
        const out = path.join(work, `killed-${which}`);
        await fs.mkdir(out, { recursive: true });
        const seen = await load(videoFlow());
        helper.getNode('splitter').receive({ payload: clip, outputPath: path.join(out, 'clip.mp4') });
        let pid: number | undefined;
        await until(() => (pid = which === 'encoder' ? encoderPid() : decoderPid(clip)) !== undefined, 20_000, `the ${which} ffmpeg to start`);
        if (which === 'encoder') await until(async () => (await listAll(out)).length > 0, 10_000, 'the encoder to open its temporary file');
        process.kill(pid as number, 'SIGKILL');
        const r = await seen.next(30_000, 1000);
        assert.equal(r.sent.length, 0, 'no finished video may be reported');
        console.log(JSON.stringify(r.caught.map((c) => [c.error.source, c.error.message.slice(0, 300)]), null, 1));
        assert.equal(r.caught.length, 1, 'the failure reaches the Catch node once');
        assert.match(r.caught[0].error.message, which === 'encoder' ? /Writing ".*clip\.mp4" failed: ffmpeg stopped .*SIGKILL/ : /SIGKILL|ffmpeg/);
        await until(() => liveProcessIds().length === 0, 5000, 'every ffmpeg of the job to end');
        assert.deepEqual(await listAll(out), [], 'no output and no temporary file');
        await nextVideoWorks(seen, path.join(out, 'next.mp4'));
      });
    }
  });

  describe('the output folder is read-only', () => {
    /** Makes `dir` read-only for this process; undefined (and the test skipped) when it cannot be. */
    async function readOnly(t: TestContext, dir: string): Promise<(() => Promise<void>) | undefined> {
      await fs.mkdir(dir, { recursive: true });
      let undo: () => Promise<void>;
      if (process.getuid?.() !== 0) {
        await fs.chmod(dir, 0o555);
        undo = () => fs.chmod(dir, 0o755);
      } else {
        const refused = mountTmpfs(dir, 'ro,size=1m');
        if (refused) {
          cannotRun(t, `running as root, which ignores chmod 0555, and ${refused}`);
          return undefined;
        }
        undo = async () => unmount(dir);
      }
      // The set-up itself is checked: a folder that still takes files would make this test pass for nothing.
      await assert.rejects(fs.writeFile(path.join(dir, 'probe'), 'x'), /EROFS|EACCES/);
      return undo;
    }

    test('an image: the error reaches the Catch node, nothing is written; the next image works', async (t) => {
      const dir = path.join(work, 'ro-images');
      const undo = await readOnly(t, dir);
      if (!undo) return;
      try {
        const seen = await load(imageFlow());
        helper.getNode('seg').receive({ payload: png, outputPath: path.join(dir, 'photo.png') });
        const r = await seen.next();
        assert.equal(r.sent.length, 0);
        assert.match(r.caught[0]?.error.message ?? '', /EROFS|EACCES/);
        assert.deepEqual(await listAll(dir), []);
        const writable = path.join(work, 'rw-images', 'photo.png');
        helper.getNode('seg').receive({ payload: png, outputPath: writable });
        const next = await seen.next();
        assert.equal(next.caught.length, 0, next.caught[0]?.error.message);
        assert.equal(await redShare(writable), 0);
      } finally {
        await undo();
      }
    });

    test('a video: the job fails at the Catch node, no ffmpeg left; the next video works', async (t) => {
      const dir = path.join(work, 'ro-videos');
      const undo = await readOnly(t, dir);
      if (!undo) return;
      try {
        const seen = await load(videoFlow());
        helper.getNode('splitter').receive({ payload: clip, outputPath: path.join(dir, 'clip.mp4') });
        const r = await seen.next(30_000, 1000);
        assert.equal(r.sent.length, 0);
        console.log(JSON.stringify(r.caught.map((c) => [c.error.source, c.error.message.slice(0, 300)]), null, 1));
        assert.equal(r.caught.length, 1);
        assert.match(r.caught[0].error.message, /clip\.mp4.*(Read-only file system|Permission denied)/s);
        await until(() => liveProcessIds().length === 0, 5000, 'ffmpeg to end');
        assert.deepEqual(await listAll(dir), []);
        await nextVideoWorks(seen, path.join(work, 'rw-videos', 'clip.mp4'));
      } finally {
        await undo();
      }
    });
  });

  describe('the disk fills up (a 1 MiB tmpfs)', () => {
    async function smallDisk(t: TestContext, dir: string): Promise<(() => void) | undefined> {
      await fs.mkdir(dir, { recursive: true });
      const refused = mountTmpfs(dir, 'size=1m');
      if (refused) {
        cannotRun(t, refused);
        return undefined;
      }
      return () => unmount(dir);
    }

    test('an image too large for the space left: the error reaches the Catch node, no partial file, the space is given back; the next image works', async (t) => {
      const disk = path.join(work, 'full-images');
      const undo = await smallDisk(t, disk);
      if (!undo) return;
      try {
        // Noise does not compress: about 1.5 MB of PNG for a 1 MiB disk.
        const big = await sharp(randomBytes(700 * 700 * 3), { raw: { width: 700, height: 700, channels: 3 } }).png().toBuffer();
        assert.ok(big.length > 1.3 * 1024 * 1024);
        const seen = await load(imageFlow());
        helper.getNode('seg').receive({ payload: big, outputPath: path.join(disk, 'big.png') });
        const r = await seen.next();
        assert.equal(r.sent.length, 0);
        assert.match(r.caught[0]?.error.message ?? '', /ENOSPC/);
        assert.deepEqual(await listAll(disk), [], 'the partial file is removed');
        assert.ok((await usedBytes(disk)) < 64 * 1024, 'its space is given back');
        helper.getNode('seg').receive({ payload: png, outputPath: path.join(disk, 'small.png') });
        const next = await seen.next();
        assert.equal(next.caught.length, 0, next.caught[0]?.error.message);
        assert.equal(await redShare(path.join(disk, 'small.png')), 0);
      } finally {
        undo();
      }
    });

    test('a video that does not fit: the job fails at the Catch node, no partial file, no ffmpeg left; with space again the next video works', async (t) => {
      const disk = path.join(work, 'full-videos');
      const undo = await smallDisk(t, disk);
      if (!undo) return;
      try {
        // Leave less room than the video needs.
        const free = (await fs.statfs(disk)).bavail * (await fs.statfs(disk)).bsize;
        const filler = path.join(disk, 'filler');
        await fs.writeFile(filler, Buffer.alloc(free - 4096));
        const seen = await load(videoFlow());
        helper.getNode('splitter').receive({ payload: clip, outputPath: path.join(disk, 'clip.mp4') });
        const r = await seen.next(30_000, 1000);
        console.log('FULL', free, JSON.stringify(r.sent.map((m) => m.video)), await listAll(disk), (await fs.stat(path.join(disk, 'clip.mp4')).catch(() => undefined))?.size);
        assert.equal(r.sent.length, 0);
        console.log(JSON.stringify(r.caught.map((c) => [c.error.source, c.error.message.slice(0, 300)]), null, 1));
        assert.equal(r.caught.length, 1);
        assert.match(r.caught[0].error.message, /clip\.mp4.*No space left on device/s);
        await until(() => liveProcessIds().length === 0, 5000, 'ffmpeg to end');
        assert.deepEqual(await listAll(disk), ['filler'], 'no output and no temporary file');
        await fs.rm(filler);
        await nextVideoWorks(seen, path.join(disk, 'clip.mp4'));
      } finally {
        undo();
      }
    });
  });

  describe('Node-RED redeployed during a job', () => {
    test('a video job: stopped with an error in the log, no output, no ffmpeg left; the redeployed flow redacts the next video', async () => {
      const out = path.join(work, 'redeploy');
      const flow = videoFlow();
      await load(flow);
      let sent = 0;
      helper.getNode('out').on('input', () => sent++);
      helper.getNode('splitter').receive({ payload: clip, outputPath: path.join(out, 'clip.mp4') });
      await until(() => encoderPid() !== undefined, 20_000, 'the encoder to start');
      await helper.setFlows(flow, 'full');
      await until(() => liveProcessIds().length === 0, 5000, 'every ffmpeg of the stopped job to end');
      await sleep(500);
      assert.equal(sent, 0, 'the stopped job never reports a finished video');
      assert.deepEqual(await listAll(out), [], 'no output and no temporary file');
      const errors = logged(20).filter((m) => /the flow was stopped/.test(m));
      assert.ok(errors.length >= 1, 'the stopped job is reported as an error');

      // The redeployed nodes are new objects: listen again.
      const after = new Outcomes<Sent>(helper.getNode('out'), helper.getNode('caught'));
      await nextVideoWorks(after, path.join(out, 'next.mp4'));
    });

    test('a watched-folder job: the file is taken up again after the redeploy and finished once, nothing lost', async () => {
      const base = path.join(work, 'watched-redeploy');
      const inbox = path.join(base, 'in');
      const out = path.join(base, 'out');
      await fs.mkdir(inbox, { recursive: true });
      const flow = watchedExample(modelDir, { inbox, out });
      await helper.load([...ours, ...core], flow);
      await fs.copyFile(clip, path.join(base, 'clip.mp4'));
      await fs.rename(path.join(base, 'clip.mp4'), path.join(inbox, 'clip.mp4'));
      // Seen once under Node-RED 5 in CI and never again here: if it happens, the error says what the log and the folders held
      // (in the message: CI keeps the start of a failure, not what was printed).
      await until(() => encoderPid() !== undefined, 30_000, 'the video job to start encoding').catch(async (err: Error) => {
        const state = { log: logged(10, 20, 30, 40), processes: liveProcessIds().length, inbox: await listAll(inbox), out: await listAll(out) };
        throw new Error(`${err.message}\n${JSON.stringify(state, null, 1)}`);
      });
      await helper.setFlows(flow, 'full');
      await until(() => exists(path.join(inbox, 'done', 'clip.mp4')), 60_000, 'clip.mp4 in done/ after the redeploy');
      assert.deepEqual((await listAll(out)).sort(), ['clip.mp4', 'clip.mp4.audit.json']);
      const audit = JSON.parse(await fs.readFile(path.join(out, 'clip.mp4.audit.json'), 'utf8')) as { attempt: number; video: { frames: number } };
      assert.equal(audit.attempt, 2, 'the second attempt, after the redeploy');
      assert.equal(await assertRedacted(path.join(out, 'clip.mp4')), (await probeVideo(clip)).frameCount);
      assert.deepEqual(await listAll(path.join(inbox, 'failed')), []);
      assert.deepEqual(await listAll(path.join(inbox, '.processing')), []);
    });
  });
});
