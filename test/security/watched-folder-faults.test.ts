/**
 * The watched-folder example under names, time-outs and full disks that
 * break a naive intake: inputs that map to one output name, a file dropped
 * twice, a newline in a name, jobs that outlive their time limit, an audit or
 * a claim that finds the disk full, and temporary files a crash left behind.
 * Each time: originals are never written over or lost, no output appears
 * without its audit, and the folder goes on working.
 *
 * Full disks are tmpfs mounts with few inodes (root or CAP_SYS_ADMIN; these
 * cases are skipped with the reason outside CI, see support.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { tempIn, tempOwner } from '../../src/common/atomic-write';
import { liveProcessIds, openFrameReader } from '../../src/video';
import { coreNode, helper, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { makeClip, redBox } from '../video/support/clips';
import { cannotRun, exists, listAll, logged, mountTmpfs, redImage, redShare, sha256, sleep, unmount, until, watchedExample, workWithModel } from './support';

const ours = ['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode', 'watch-folder'].map(nodeModule);
const core = ['common/25-catch.js', 'function/15-change.js', 'function/10-switch.js', 'function/89-delay.js', 'storage/10-file.js'].map(coreNode);

interface Audit {
  input: { path: string; sha256: string; done?: string };
  output: { path: string; sha256: string };
}

/** Files (not folders) under `dir`, relative, sorted; hidden ones included. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** The processing area holds nothing but what a claim in progress needs: here, nothing at all. */
async function noClaimsLeft(inbox: string): Promise<void> {
  // The original reaches done/ (or failed/) a moment before its claim is forgotten: a crash in between must leave a lease to recover from.
  const processing = path.join(inbox, '.processing');
  for (let i = 0; i < 50 && (await listAll(processing)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await listAll(processing), [], 'no claim, record or reservation left in .processing');
}

/** Written beside the folder, then renamed in: the file arrives whole. */
async function drop(inbox: string, name: string, data: Buffer | string): Promise<void> {
  const stage = path.join(path.dirname(inbox), 'stage');
  await fs.mkdir(stage, { recursive: true });
  await fs.writeFile(path.join(stage, name), data);
  await fs.rename(path.join(stage, name), path.join(inbox, name));
}

describe('watched folder under hostile names, time-outs and full disks', () => {
  useNodeRed();
  let work: string;
  let modelDir: string;
  let clip: Buffer;
  let longClip: Buffer;
  let png: Buffer;
  before(async () => {
    ({ work, modelDir } = await workWithModel('sam3-watch-faults-'));
    clip = readFileSync(await makeClip(path.join(work, 'clip.mp4'), { duration: 1 }));
    // Long enough that no job finishes within a 1 s time limit.
    longClip = readFileSync(await makeClip(path.join(work, 'long.mp4'), { width: 640, height: 480, rate: 30, duration: 12 }));
    png = await redImage();
  });

  function folders(name: string): { inbox: string; out: string } {
    return { inbox: path.join(work, name, 'in'), out: path.join(work, name, 'out') };
  }

  async function load(flow: FlowNode[]): Promise<void> {
    await helper.load([...ours, ...core], flow);
  }

  test('x.mov, x.mkv and x.MP4 get an output each; a name dropped twice keeps both originals; a failing x.avi removes no other output', async () => {
    const { inbox, out } = folders('collisions');
    await fs.mkdir(inbox, { recursive: true });
    await load(watchedExample(modelDir, { inbox, out }));
    for (const name of ['x.mov', 'x.mkv', 'x.MP4']) await drop(inbox, name, clip);
    const done = path.join(inbox, 'done');
    await until(async () => (await filesIn(done)).length === 3, 60_000, 'three videos in done/');

    const outputs = (await filesIn(out)).filter((f) => !f.endsWith('.audit.json'));
    assert.deepEqual(outputs, ['x (2).mp4', 'x (3).mp4', 'x.mp4'], 'three inputs, three outputs');
    const originals = new Set<string>();
    for (const o of outputs) {
      const audit = JSON.parse(await fs.readFile(path.join(out, `${o}.audit.json`), 'utf8')) as Audit;
      assert.equal(audit.output.sha256, await sha256(path.join(out, o)), `${o}: its audit describes it`);
      assert.equal(audit.input.done, audit.input.path, 'each original keeps its name in done/');
      assert.equal(audit.input.sha256, await sha256(path.join(done, audit.input.done ?? '')));
      originals.add(audit.input.path);
      for await (const f of await openFrameReader(path.join(out, o))) assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red in frame ${f.index} of ${o}`);
    }
    assert.deepEqual([...originals].sort(), ['x.MP4', 'x.mkv', 'x.mov']);

    // The same name twice: the second is another input, with outputs of its own.
    const second = await redImage(240, 160);
    await drop(inbox, 'a.png', png);
    await until(() => exists(path.join(done, 'a.png')), 30_000, 'the first a.png in done/');
    await drop(inbox, 'a.png', second);
    await until(() => exists(path.join(done, 'a (2).png')), 30_000, 'the second a.png in done/ beside the first');
    assert.equal(await sha256(path.join(done, 'a.png')), sha256Of(png), 'the first original is intact');
    assert.equal(await sha256(path.join(done, 'a (2).png')), sha256Of(second), 'the second original is intact');
    const audit2 = JSON.parse(await fs.readFile(path.join(out, 'a (2).png.audit.json'), 'utf8')) as Audit;
    assert.deepEqual([audit2.input.path, audit2.input.done], ['a.png', 'a (2).png'], 'the audit names the original and its done/ name');
    assert.equal(await redShare(path.join(out, 'a.png')), 0);
    assert.equal(await redShare(path.join(out, 'a (2).png')), 0);

    // A corrupt x.avi would also want x.mp4: its failure takes nothing of the others with it.
    const before = new Map(await Promise.all((await filesIn(out)).map(async (f) => [f, await sha256(path.join(out, f))] as const)));
    await drop(inbox, 'x.avi', 'not a video\n');
    await until(() => exists(path.join(inbox, 'failed', 'x.avi.error.txt')), 30_000, 'x.avi in failed/');
    const after = new Map(await Promise.all((await filesIn(out)).map(async (f) => [f, await sha256(path.join(out, f))] as const)));
    assert.deepEqual(after, before, 'every other output and audit is still there, unchanged');
    await noClaimsLeft(inbox);
  });

  test('a newline in a file name is escaped in the error file: it cannot forge a line (the log: watched-folder-process.test)', async () => {
    const { inbox, out } = folders('newline');
    await fs.mkdir(inbox, { recursive: true });
    await load(watchedExample(modelDir, { inbox, out }));
    const evil = 'evil\n[error] [watch-folder] forged \u001b[2Jline.png';
    await drop(inbox, evil, 'not an image\n');
    await until(() => exists(path.join(inbox, 'failed', `${evil}.error.txt`)), 30_000, 'the file in failed/');

    const lines = (await fs.readFile(path.join(inbox, 'failed', `${evil}.error.txt`), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 3, `reason, file and attempt, one line each: ${JSON.stringify(lines)}`);
    assert.match(lines[0], /could not be decoded/);
    assert.equal(lines[1], 'file: evil\\n[error] [watch-folder] forged \\x1b[2Jline.png');
    await noClaimsLeft(inbox);
  });

  test('a video job that outlives its time limit is stopped: original in failed/, no output ever, no more jobs at once than the limit, no ffmpeg left', async () => {
    const { inbox, out } = folders('video-timeout');
    await fs.mkdir(inbox, { recursive: true });
    await load(watchedExample(modelDir, { inbox, out }, { timeout: 1, maxInFlight: 2 }));
    const names = ['v1.mp4', 'v2.mp4', 'v3.mp4', 'v4.mp4'];
    for (const name of names) await drop(inbox, name, longClip);

    // Jobs running: the claimed files that some ffmpeg or ffprobe of this process still reads.
    let most = 0;
    const sampler = setInterval(() => {
      const claimed = new Set(liveProcessIds().flatMap((pid) => cmdline(pid).filter((a) => a.includes(`${path.sep}.processing${path.sep}`))));
      most = Math.max(most, claimed.size);
    }, 20);
    try {
      const failed = path.join(inbox, 'failed');
      await until(async () => (await filesIn(failed)).length === 2 * names.length, 90_000, 'every video in failed/').catch(async (err: Error) => {
        // What held the job up comes first: CI keeps only the start of a long error.
        const state = { unexpected: logged(30).filter((w) => !/not finished within/.test(w) || /has not stopped/.test(w)), ffmpeg: liveProcessIds().map((pid) => cmdline(pid).join(' ')), files: await filesIn(inbox), out: await filesIn(out) };
        throw new Error(`${err.message}\n${JSON.stringify(state, null, 1)}`);
      });
      // A job that went on running would publish its output now.
      await sleep(3000);
    } finally {
      clearInterval(sampler);
    }
    assert.deepEqual(logged(30).filter((w) => /has not stopped/.test(w)), [], 'every job stopped when its time ran out');
    assert.ok(most <= 2, `at most 2 jobs ran at once (seen ${most})`);
    assert.ok(most >= 1, 'the sampler saw the jobs run');
    for (const name of names) {
      assert.match(await fs.readFile(path.join(inbox, 'failed', `${name}.error.txt`), 'utf8'), /not finished within 1 s/);
      assert.equal(await sha256(path.join(inbox, 'failed', name)), sha256Of(longClip), `${name} is intact`);
    }
    assert.deepEqual(await filesIn(out), [], 'no output, audit or temporary file');
    assert.deepEqual(liveProcessIds(), [], 'no ffmpeg left running');
    await noClaimsLeft(inbox);
  });

  test('an image whose claim times out while it waits in the flow never gets an output', async () => {
    const { inbox, out } = folders('image-timeout');
    await fs.mkdir(inbox, { recursive: true });
    const flow = watchedExample(modelDir, { inbox, out }, { timeout: 1 });
    // The image read into memory first (a file-in node), then a slow step between detection and
    // redaction (a rate limit, a queue): 3 s. Moving the original away cannot stop this flow.
    const router = flow.find((n) => n.type === 'switch') as FlowNode & { wires: string[][] };
    const segment = flow.find((n) => n.id === router.wires[0][0]) as FlowNode & { wires: string[][] };
    flow.push({ id: 'read', type: 'file in', z: segment.z, filename: '', format: '', chunk: false, sendError: false, allProps: false, wires: [[segment.id]] });
    flow.push({ id: 'slow', type: 'delay', z: segment.z, pauseType: 'delay', timeout: '3', timeoutUnits: 'seconds', wires: [segment.wires[0]] });
    router.wires[0] = ['read'];
    segment.wires = [['slow']];
    await load(flow);
    await drop(inbox, 'late.png', png);
    await until(() => exists(path.join(inbox, 'failed', 'late.png.error.txt')), 20_000, 'late.png in failed/');
    assert.match(await fs.readFile(path.join(inbox, 'failed', 'late.png.error.txt'), 'utf8'), /not finished within 1 s/);
    await sleep(4000); // the message leaves the delay and reaches mask-blur meanwhile
    assert.deepEqual(await filesIn(out), [], 'the late result was not written');
    await noClaimsLeft(inbox);
  });

  test('an audit that cannot be written (full disk) takes its output with it; the original goes to failed/ with the reason', async (t) => {
    const { inbox, out } = folders('audit-full');
    await fs.mkdir(inbox, { recursive: true });
    await fs.mkdir(out, { recursive: true });
    // Room for one file: the redacted image fits, its audit does not.
    const refused = mountTmpfs(out, 'size=4m,nr_inodes=2');
    if (refused) return cannotRun(t, refused);
    try {
      await load(watchedExample(modelDir, { inbox, out }));
      await drop(inbox, 'photo.png', png);
      await until(() => exists(path.join(inbox, 'failed', 'photo.png.error.txt')), 30_000, 'photo.png in failed/');
      assert.match(await fs.readFile(path.join(inbox, 'failed', 'photo.png.error.txt'), 'utf8'), /could not be published.*(ENOSPC|no space)/i);
      assert.equal(await sha256(path.join(inbox, 'failed', 'photo.png')), sha256Of(png));
      assert.deepEqual(await filesIn(out), [], 'neither output nor audit, nor a temporary file');
      await noClaimsLeft(inbox);
    } finally {
      await helper.unload();
      unmount(out);
    }
    // With room again, the folder goes on working.
    await load(watchedExample(modelDir, { inbox, out }));
    await drop(inbox, 'next.png', png);
    await until(() => exists(path.join(inbox, 'done', 'next.png')), 30_000, 'next.png in done/');
    assert.deepEqual(await filesIn(out), ['next.png', 'next.png.audit.json']);
  });

  test('a full disk at claim time: the file waits where it was dropped (no empty claim folder) and is taken once there is room', async (t) => {
    const { inbox, out } = folders('claim-full');
    await fs.mkdir(inbox, { recursive: true });
    // The mount's root, .processing, ten fillers and the photo: then no inode is left for a claim.
    const refused = mountTmpfs(inbox, 'size=4m,nr_inodes=13');
    if (refused) return cannotRun(t, refused);
    try {
      await load(watchedExample(modelDir, { inbox, out }, { stability: 0.3 }));
      await until(() => exists(path.join(inbox, '.processing')), 10_000, 'the flow to start');
      const fillers = Array.from({ length: 10 }, (_, i) => path.join(inbox, `filler-${i}.txt`));
      for (const f of fillers) await fs.writeFile(f, '');
      await fs.writeFile(path.join(inbox, 'photo.png'), png);
      await until(() => logged(30).some((w) => /could not claim .*photo\.png/.test(w)), 10_000, 'the failed claim in the log');
      await sleep(1500);
      assert.ok(await exists(path.join(inbox, 'photo.png')), 'the photo is still where it was dropped');
      assert.deepEqual(await listAll(path.join(inbox, '.processing')), [], 'no empty claim folder or record is left');

      for (const f of fillers) await fs.rm(f);
      await until(() => exists(path.join(inbox, 'done', 'photo.png')), 60_000, 'the photo claimed and done once there is room');
      assert.equal(await redShare(path.join(out, 'photo.png')), 0);
      await noClaimsLeft(inbox);
    } finally {
      await helper.unload();
      unmount(inbox);
    }
  });

  test("temporary files a dead process left in the output folder are removed at start; a live process's are kept", async () => {
    const { inbox, out } = folders('stale');
    await fs.mkdir(inbox, { recursive: true });
    await fs.mkdir(path.join(out, 'sub'), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const mine = tempIn(out);
    const owner = tempOwner(path.basename(mine));
    assert.ok(owner, 'our temporary names carry their owner');
    const stale = [path.join(out, path.basename(mine).replace(`-${process.pid}-`, `-${dead}-`)), path.join(out, 'sub', path.basename(tempIn(out)).replace(`-${process.pid}-`, `-${dead}-`))];
    const foreignHost = path.join(out, `.sam3r-elsewhere-${dead}-0123abcd.partial`);
    for (const f of [mine, ...stale, foreignHost]) await fs.writeFile(f, 'an encoder orphaned by a crash finished this');
    await load(watchedExample(modelDir, { inbox, out }));
    await drop(inbox, 'go.png', png);
    await until(() => exists(path.join(inbox, 'done', 'go.png')), 30_000, 'the flow to run');
    for (const f of stale) assert.equal(await exists(f), false, `${path.relative(out, f)} (a dead process's) removed`);
    assert.ok(await exists(mine), "this live process's temporary file is kept");
    assert.ok(await exists(foreignHost), "another host's is kept: its process may be alive");
  });
});

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
