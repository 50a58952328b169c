import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { FolderIntake, type IntakeJob } from '../../src/watch/intake';
import { liveClaims } from '../../src/watch/live-claims';
import { tempDir } from '../helpers/temp';

const EXT = ['jpg', 'png', 'mp4'];

function until(cond: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = async (): Promise<void> => {
      if (await cond()) return resolve();
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(() => void check(), 25);
    };
    void check();
  });
}

const exists = (p: string): Promise<boolean> => fs.access(p).then(() => true, () => false);

async function files(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  } catch {
    return [];
  }
}

/** Processing as a flow would do it: write the output, then complete (or fail on a "corrupt" input). */
function worker(intake: FolderIntake, seen: string[], opts: { delayMs?: number; stopAfter?: number } = {}): void {
  intake.on('job', (job: IntakeJob) => {
    seen.push(job.relative);
    if (opts.stopAfter !== undefined && seen.length > opts.stopAfter) return; // this instance "crashes" mid-job
    void (async () => {
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 5));
      const data = await fs.readFile(job.input);
      if (data.toString().startsWith('corrupt')) return void (await intake.fail(job.token, 'could not be decoded (corrupt)'));
      await fs.mkdir(path.dirname(job.staging), { recursive: true });
      await fs.writeFile(job.staging, Buffer.concat([Buffer.from('redacted:'), data]));
      await intake.complete(job.token, { prompts: ['face'], modelId: 'sha256:test' });
    })();
  });
}

function setup(over: Partial<ConstructorParameters<typeof FolderIntake>[0]> = {}) {
  const root = tempDir();
  const watch = path.join(root, 'in');
  const out = path.join(root, 'out');
  const make = (more: Partial<ConstructorParameters<typeof FolderIntake>[0]> = {}): FolderIntake =>
    new FolderIntake({ folder: watch, output: out, extensions: EXT, stabilityMs: 300, maxInFlight: 4, leaseMs: 60_000, ...over, ...more });
  return { root, watch, out, make };
}

describe('watched-folder intake', () => {
  test('200 files dropped at once are each processed exactly once', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    const intake = make();
    const seen: string[] = [];
    worker(intake, seen);
    await intake.start();
    await Promise.all(Array.from({ length: 200 }, (_, i) => fs.writeFile(path.join(watch, `photo-${i}.jpg`), `image ${i}`)));
    await until(() => intake.counts.done === 200, 60_000, '200 done');
    await intake.close();
    assert.equal(seen.length, 200);
    assert.equal(new Set(seen).size, 200, 'no file handed out twice');
    const outputs = (await files(out)).filter((f) => !f.endsWith('.audit.json'));
    assert.equal(outputs.length, 200);
    assert.equal((await files(path.join(watch, 'done'))).length, 200);
    assert.deepEqual((await files(watch)).filter((f) => !f.startsWith('done')), [], 'nothing left behind in the watched folder');
    const audit = JSON.parse(await fs.readFile(path.join(out, 'photo-7.jpg.audit.json'), 'utf8')) as { input: { sha256: string }; output: { sha256: string }; prompts: string[] };
    assert.match(audit.input.sha256, /^[0-9a-f]{64}$/);
    assert.notEqual(audit.input.sha256, audit.output.sha256);
    assert.deepEqual(audit.prompts, ['face']);
  });

  test('files already there at start are taken; other extensions and hidden files are left alone', async () => {
    const { watch, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    for (const name of ['a.jpg', 'b.PNG', 'notes.txt', '.hidden.jpg', 'c.jpg.partial']) await fs.writeFile(path.join(watch, name), name);
    const intake = make();
    const seen: string[] = [];
    worker(intake, seen);
    await intake.start();
    await until(() => intake.counts.done === 2, 10_000, '2 done');
    await new Promise((r) => setTimeout(r, 700));
    await intake.close();
    assert.deepEqual(seen.sort(), ['a.jpg', 'b.PNG']);
    assert.deepEqual((await files(watch)).filter((f) => !f.startsWith('done')).sort(), ['.hidden.jpg', 'c.jpg.partial', 'notes.txt']);
  });

  test('a file written in chunks over a few seconds is read only when complete', async () => {
    const { watch, make } = setup({ stabilityMs: 1000 });
    await fs.mkdir(watch, { recursive: true });
    const intake = make();
    const sizes: number[] = [];
    intake.on('job', (job: IntakeJob) => void fs.stat(job.input).then((s) => sizes.push(s.size)));
    await intake.start();
    const file = await fs.open(path.join(watch, 'slow.mp4'), 'w');
    for (let i = 0; i < 8; i++) {
      await file.write(Buffer.alloc(64 * 1024, i));
      await new Promise((r) => setTimeout(r, 300));
    }
    await file.close();
    await until(() => sizes.length === 1, 10_000, 'the slow file');
    await intake.close();
    assert.deepEqual(sizes, [8 * 64 * 1024]);
  });

  test('a restart in the middle of a batch loses nothing and duplicates nothing', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    await Promise.all(Array.from({ length: 30 }, (_, i) => fs.writeFile(path.join(watch, `f${i}.jpg`), `image ${i}`)));
    const first = make();
    const seenFirst: string[] = [];
    // The first instance takes some jobs and then stops answering (as if Node-RED were stopped mid-batch).
    worker(first, seenFirst, { stopAfter: 10, delayMs: 20 });
    await first.start();
    await until(() => seenFirst.length >= 14, 20_000, 'the first instance to be mid-batch');
    await first.close();
    const second = make();
    const seenSecond: string[] = [];
    worker(second, seenSecond);
    await second.start();
    await until(async () => (await files(path.join(watch, 'done'))).length === 30, 30_000, 'all 30 in done');
    await second.close();
    const outputs = (await files(out)).filter((f) => !f.endsWith('.audit.json'));
    assert.deepEqual(outputs, Array.from({ length: 30 }, (_, i) => `f${i}.jpg`).sort(), 'one output per input');
    assert.deepEqual(await files(path.join(watch, '.processing')), [], 'no claim left behind');
  });

  test('a corrupt file lands in failed with its reason while the rest go through', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    await fs.writeFile(path.join(watch, 'good1.jpg'), 'image 1');
    await fs.writeFile(path.join(watch, 'broken.jpg'), 'corrupt bytes');
    await fs.writeFile(path.join(watch, 'good2.jpg'), 'image 2');
    const intake = make();
    worker(intake, []);
    await intake.start();
    await until(() => intake.counts.done === 2 && intake.counts.failed === 1, 10_000, '2 done 1 failed');
    await intake.close();
    assert.deepEqual(await files(path.join(watch, 'failed')), ['broken.jpg', 'broken.jpg.error.txt']);
    assert.match(await fs.readFile(path.join(watch, 'failed', 'broken.jpg.error.txt'), 'utf8'), /corrupt/);
    assert.ok(!(await files(out)).some((f) => f.startsWith('broken')), 'no output for the failed file');
  });

  test('a job not finished within the time limit fails, and its late result is refused', async () => {
    const { watch, make } = setup({ timeoutMs: 500 });
    await fs.mkdir(watch, { recursive: true });
    await fs.writeFile(path.join(watch, 'stuck.jpg'), 'x');
    const intake = make();
    let job: IntakeJob | undefined;
    intake.on('job', (j: IntakeJob) => (job = j));
    await intake.start();
    await until(() => intake.counts.failed === 1, 10_000, 'the timeout');
    await assert.rejects(intake.complete((job as IntakeJob).token), /not in progress here/);
    await intake.close();
    assert.match(await fs.readFile(path.join(watch, 'failed', 'stuck.jpg.error.txt'), 'utf8'), /not finished within 1 s|not finished within 0 s/);
  });

  test('work that does not stop after a time-out is named in the log; the original still goes to failed/, and its slot stays taken until it stops', async () => {
    const { watch, make } = setup({ timeoutMs: 300, stopGraceMs: 1000, maxInFlight: 1 });
    await fs.mkdir(watch, { recursive: true });
    await fs.writeFile(path.join(watch, 'a.jpg'), 'a');
    const intake = make();
    const warnings: string[] = [];
    intake.on('warning', (err: Error) => warnings.push(err.message));
    const handed: string[] = [];
    let release: (() => void) | undefined;
    intake.on('job', (job: IntakeJob) => {
      handed.push(job.relative);
      // A worker that never lets go (a bug): it ignores the claim's signal.
      if (job.relative === 'a.jpg') release = liveClaims.get(job.token)?.hold('stuck-node 1234');
    });
    await intake.start();
    await fs.writeFile(path.join(watch, 'b.jpg'), 'b');
    await until(() => exists(path.join(watch, 'failed', 'a.jpg.error.txt')), 10_000, 'a.jpg in failed/');
    assert.match(await fs.readFile(path.join(watch, 'failed', 'a.jpg.error.txt'), 'utf8'), /not finished within/);
    assert.ok(warnings.some((w) => /a\.jpg has not stopped .*still held by stuck-node 1234/.test(w)), `the log names who holds it: ${warnings.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(handed, ['a.jpg'], 'b.jpg waits: the stuck work still takes the only slot');
    (release as () => void)();
    await until(() => handed.includes('b.jpg'), 10_000, 'b.jpg handed out once the stuck work stopped');
    await intake.close();
  });

  test('two instances on one folder never take the same file', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    const a = make(), b = make();
    const seenA: string[] = [], seenB: string[] = [];
    worker(a, seenA);
    worker(b, seenB);
    await Promise.all([a.start(), b.start()]);
    await Promise.all(Array.from({ length: 60 }, (_, i) => fs.writeFile(path.join(watch, `s${i}.png`), `image ${i}`)));
    await until(() => a.counts.done + b.counts.done === 60, 30_000, '60 done');
    await Promise.all([a.close(), b.close()]);
    assert.equal(seenA.length + seenB.length, 60);
    assert.equal(new Set([...seenA, ...seenB]).size, 60);
    assert.equal((await files(out)).filter((f) => !f.endsWith('.audit.json')).length, 60);
  });

  test('a second file dropped under the same name gets outputs of its own: neither original nor output is written over', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    const intake = make();
    worker(intake, []);
    await intake.start();
    await fs.writeFile(path.join(watch, 'same.jpg'), 'v1');
    await until(() => intake.counts.done === 1, 10_000, 'first');
    await fs.writeFile(path.join(watch, 'same.jpg'), 'v2');
    await until(() => intake.counts.done === 2, 10_000, 'second');
    await intake.close();
    assert.deepEqual(await files(out), ['same (2).jpg', 'same (2).jpg.audit.json', 'same.jpg', 'same.jpg.audit.json']);
    assert.equal(await fs.readFile(path.join(out, 'same.jpg'), 'utf8'), 'redacted:v1');
    assert.equal(await fs.readFile(path.join(out, 'same (2).jpg'), 'utf8'), 'redacted:v2');
    assert.equal(await fs.readFile(path.join(watch, 'done', 'same.jpg'), 'utf8'), 'v1');
    assert.equal(await fs.readFile(path.join(watch, 'done', 'same (2).jpg'), 'utf8'), 'v2');
  });

  test('a file whose watcher event was lost is still taken: by the scan once the watcher is ready, and by the scan every few seconds', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(watch, { recursive: true });
    // The watcher's events for these names are dropped, as a lost event would be.
    const lost = (file: string): boolean => /(early|late)\.jpg$/.test(file);
    await fs.writeFile(path.join(watch, 'early.jpg'), 'early');
    await new Promise((r) => setTimeout(r, 400)); // settled before the flow starts
    const once = make({ dropEvent: lost, rescanMs: 0 });
    worker(once, []);
    await once.start();
    await until(() => once.counts.done === 1, 10_000, 'the early file taken by the scan after ready');
    await once.close();

    const intake = make({ dropEvent: lost, rescanMs: 500 });
    const seen: string[] = [];
    worker(intake, seen);
    await intake.start();
    await fs.writeFile(path.join(watch, 'late.jpg'), 'late');
    await until(() => intake.counts.done === 1, 10_000, 'the late file taken by a later scan');
    await intake.close();
    assert.deepEqual(seen, ['late.jpg'], 'taken once');
    assert.deepEqual((await files(out)).filter((f) => !f.endsWith('.audit.json')), ['early.jpg', 'late.jpg']);
  });

  test('the audit names its folders once, with paths relative to them; an error file names the file dropped, not the processing copy', async () => {
    const { watch, out, make } = setup();
    await fs.mkdir(path.join(watch, 'sub'), { recursive: true });
    const intake = make({ recursive: true });
    intake.on('job', (job: IntakeJob) => {
      void (async () => {
        if (job.relative.endsWith('bad.jpg')) return void (await intake.fail(job.token, `could not decode ${job.input}: bad header`));
        await fs.mkdir(path.dirname(job.staging), { recursive: true });
        await fs.writeFile(job.staging, 'redacted');
        // A text-only run: the text detector used 0.5, whatever the model node's 0.3 says.
        await intake.complete(job.token, { prompts: ['text'], threshold: 0.3, backends: { text: [{ backend: 'text', threshold: 0.5 }] } });
      })();
    });
    await intake.start();
    await fs.writeFile(path.join(watch, 'sub', 'good.jpg'), 'good');
    await fs.writeFile(path.join(watch, 'bad.jpg'), 'bad');
    await until(() => intake.counts.done === 1 && intake.counts.failed === 1, 10_000, 'one done, one failed');
    await intake.close();
    const audit = JSON.parse(await fs.readFile(path.join(out, 'sub', 'good.jpg.audit.json'), 'utf8')) as {
      folders: { watched: string; output: string; done: string };
      input: { path: string; done: string };
      output: { path: string };
      threshold: number;
    };
    assert.deepEqual(audit.folders, { watched: watch, output: out, done: path.join(watch, 'done') });
    assert.equal(audit.input.path, path.join('sub', 'good.jpg'));
    assert.equal(audit.input.done, path.join('sub', 'good.jpg'));
    assert.equal(audit.output.path, path.join('sub', 'good.jpg'));
    assert.equal(audit.threshold, 0.5, 'the threshold the text detector used');
    const error = await fs.readFile(path.join(watch, 'failed', 'bad.jpg.error.txt'), 'utf8');
    assert.match(error, /^could not decode bad\.jpg: bad header$/m);
    assert.doesNotMatch(error, /\.processing/);
  });
});
