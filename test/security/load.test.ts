/**
 * Load: 1,000 small images dropped at once into the watched folder of the
 * example flow, running in a real Node-RED process. Every file ends in done/
 * or failed/ (the corrupt ones in failed/ with their reason), each good one
 * has exactly one output, and the Node-RED process's memory stays bounded
 * while the batch goes through.
 */
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';
import { textured } from '../helpers/textured';
import { workWithModel } from './support';

const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'watched-folder-redaction.json');
const FILES = 1000;
const CORRUPT = 25;

/** Resident memory of a process in MB, from /proc. */
async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const count = async (dir: string, filter: (f: string) => boolean = () => true): Promise<number> =>
  (await fs.readdir(dir).catch(() => [] as string[])).filter(filter).length;

test(`${FILES} small images through the watched folder: every file accounted for, memory bounded`, { timeout: 600_000 }, async () => {
  const { work, modelDir } = await workWithModel();
  const inbox = path.join(work, 'in');
  const out = path.join(work, 'out');
  await fs.mkdir(inbox, { recursive: true });
  const W = 96, H = 72;
  const png = await sharp(Buffer.from(textured(W, H, [{ x: 10, y: 10, width: 30, height: 24, rgb: FIXTURE_COLOURS.red }]).data), {
    raw: { width: W, height: H, channels: 3 },
  }).png().toBuffer();

  let red: NodeRedProcess | undefined;
  try {
    red = await startNodeRed(path.join(work, 'node-red'), JSON.parse(readFileSync(example, 'utf8')) as object[], {
      SAM3_MODEL_DIR: modelDir, REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red',
    });
    // A first file warms the model up, so that the baseline includes a loaded engine.
    await fs.writeFile(path.join(inbox, 'warm-up.png'), png);
    for (let t = Date.now(); (await count(path.join(inbox, 'done'))) < 1; ) {
      assert.ok(Date.now() - t < 60_000, 'the warm-up file never finished');
      await new Promise((r) => setTimeout(r, 100));
    }
    const baseline = await rssMb(red.pid);

    // All at once, as a camera dump or a copy of a folder would.
    const staging = path.join(work, 'staging');
    await fs.mkdir(staging);
    for (let i = 0; i < FILES; i++) {
      const name = `img-${String(i).padStart(4, '0')}.png`;
      await fs.writeFile(path.join(staging, name), i % (FILES / CORRUPT) === 7 ? png.subarray(0, 60) : png);
    }
    for (const f of await fs.readdir(staging)) await fs.rename(path.join(staging, f), path.join(inbox, f));

    let peak = baseline;
    const started = Date.now();
    for (;;) {
      peak = Math.max(peak, await rssMb(red.pid));
      const done = await count(path.join(inbox, 'done'), (f) => f.startsWith('img-'));
      const failed = await count(path.join(inbox, 'failed'), (f) => f.startsWith('img-') && !f.endsWith('.error.txt'));
      if (done + failed >= FILES) break;
      assert.ok(Date.now() - started < 480_000, `only ${done} done and ${failed} failed of ${FILES} after 8 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`load: ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s; Node-RED RSS ${baseline.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most`);

    const done = (await fs.readdir(path.join(inbox, 'done'))).filter((f) => f.startsWith('img-'));
    const failedDir = await fs.readdir(path.join(inbox, 'failed'));
    const failed = failedDir.filter((f) => f.startsWith('img-') && !f.endsWith('.error.txt'));
    assert.equal(done.length, FILES - CORRUPT, 'every good file done');
    assert.equal(failed.length, CORRUPT, 'every corrupt file failed');
    for (const f of failed) assert.match(await fs.readFile(path.join(inbox, 'failed', `${f}.error.txt`), 'utf8'), /could not be decoded/);
    const outputs = (await fs.readdir(out)).filter((f) => f.startsWith('img-') && f.endsWith('.png'));
    assert.deepEqual(outputs.sort(), done.sort(), 'one output for each good file, none for a corrupt one');
    assert.equal((await fs.readdir(inbox)).filter((f) => f.startsWith('img-')).length, 0, 'nothing left behind');
    // Bounded: the batch is claimed and processed a few at a time, never held all at once.
    assert.ok(peak - baseline < 250, `Node-RED grew by ${(peak - baseline).toFixed(0)} MB during the batch`);
  } finally {
    await red?.stop();
  }
});
