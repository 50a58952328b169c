/**
 * The watched-folder example in a real Node-RED process (as `npm start`
 * runs it): names as long as a file system allows, a newline in a name, and
 * Node-RED killed in the middle of a video twice. Node-RED must stay up,
 * every file must end in done/ or failed/, and a file that takes Node-RED
 * down is not taken up for ever.
 */
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempOwner } from '../../src/common/atomic-write';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';
import { tempDir } from '../helpers/temp';
import { makeClip } from '../video/support/clips';
import { exists, redImage, redShare, until, watchedExample, workWithModel } from './support';

/** A name of exactly `bytes` UTF-8 bytes (two-byte letters, so a cut could split one). */
function nameOf(bytes: number, ext: string): string {
  const stem = 'é'.repeat(Math.floor((bytes - ext.length) / 2));
  return (Buffer.byteLength(stem + ext) < bytes ? `${stem}x` : stem) + ext;
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

async function filesIn(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** Processes still running whose command line names `needle` (an orphaned ffmpeg). */
async function processesNaming(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const args = await fs.readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '');
    if (args.includes(needle)) pids.push(Number(name));
  }
  return pids;
}

describe('the watched-folder example in a real Node-RED process', () => {
  let work: string;
  let modelDir: string;
  let inbox: string;
  let out: string;
  let userDir: string;
  let env: NodeJS.ProcessEnv;
  let flow: object[];
  let red: NodeRedProcess | undefined;
  before(async () => {
    ({ work, modelDir } = await workWithModel('sam3-watch-process-'));
    inbox = path.join(work, 'in');
    out = path.join(work, 'out');
    userDir = tempDir('sam3-watch-process-user-');
    await fs.mkdir(inbox, { recursive: true });
    flow = watchedExample(modelDir, { inbox, out });
    env = { SAM3_MODEL_DIR: modelDir, REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red' };
  });
  after(async () => {
    await red?.stop();
    for (const pid of await processesNaming(out)) process.kill(pid, 'SIGKILL');
  });

  async function drop(name: string, data: Buffer | string): Promise<void> {
    const stage = path.join(work, 'stage');
    await fs.mkdir(stage, { recursive: true });
    await fs.writeFile(path.join(stage, name), data);
    await fs.rename(path.join(stage, name), path.join(inbox, name));
  }

  const alive = (r: NodeRedProcess): boolean => {
    try {
      process.kill(r.pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  test('names up to 255 bytes are redacted, with audits; a newline in a name cannot forge a log line; Node-RED stays up', async () => {
    red = await startNodeRed(userDir, flow, env);
    const png = await redImage();
    const clip = readFileSync(await makeClip(path.join(work, 'clip.mp4'), { duration: 1 }));
    const images = [nameOf(222, '.png'), nameOf(232, '.png'), nameOf(255, '.png')];
    const video = nameOf(250, '.mp4');
    const evil = 'evil\n[error] [watch-folder] forged line.png';
    for (const n of images) await drop(n, png);
    await drop(video, clip);
    await drop(evil, 'not an image\n');

    await until(async () => (await filesIn(path.join(inbox, 'done'))).length === 4, 90_000, 'the four long names in done/');
    await until(() => exists(path.join(inbox, 'failed', `${evil}.error.txt`)), 30_000, 'the evil name in failed/');
    assert.ok(alive(red), 'Node-RED is still running');
    assert.equal(await get(`${red.url}/flows`), 200, 'and answers');

    const audits = (await filesIn(out)).filter((f) => f.endsWith('.audit.json'));
    assert.equal(audits.length, 4, 'an audit for each');
    const seen = new Set<string>();
    for (const a of audits) {
      const audit = JSON.parse(await fs.readFile(path.join(out, a), 'utf8')) as { folders: { output: string; done: string }; input: { path: string; done: string }; output: { path: string } };
      seen.add(audit.input.path);
      // Paths are relative to the folders the audit names once.
      const output = path.join(audit.folders.output, audit.output.path);
      assert.ok(await exists(output), `${output} exists`);
      assert.ok(Buffer.byteLength(path.basename(output) + '.audit.json') <= 255, 'output and audit names fit');
      assert.ok(await exists(path.join(audit.folders.done, audit.input.done)), 'the original is in done/ under the name the audit gives');
      if (output.endsWith('.png')) assert.equal(await redShare(output), 0, 'redacted');
    }
    assert.deepEqual([...seen].sort(), [...images, video].sort());

    const log = red.log.join('');
    assert.doesNotMatch(log, /Uncaught Exception|ENAMETOOLONG/);
    const lines = log.split('\n');
    assert.ok(lines.some((l) => l.includes('evil\\n[error] [watch-folder] forged line.png')), 'the name is logged escaped');
    assert.ok(!lines.some((l) => l.startsWith('[error] [watch-folder] forged')), 'no forged line');
  });

  test('Node-RED killed twice in the middle of one video: the third start sends it to failed/ instead of running it again; stale temporary files go', async () => {
    assert.ok(red, 'runs after the first test');
    const long = readFileSync(await makeClip(path.join(work, 'long.mp4'), { width: 640, height: 480, rate: 30, duration: 12 }));
    // This Node-RED's encoder is writing (the temporary name carries its pid; a dead one's may still be there).
    const encoding = async (): Promise<boolean> => (await fs.readdir(out)).some((f) => tempOwner(f)?.pid === red?.pid);
    await drop('crashy.mp4', long);
    for (let crash = 1; crash <= 2; crash++) {
      await until(encoding, 60_000, `the video to be encoding (attempt ${crash})`);
      process.kill(red.pid, 'SIGKILL');
      await until(() => !alive(red as NodeRedProcess), 10_000, 'Node-RED to die');
      red = await startNodeRed(userDir, flow, env);
    }
    await until(() => exists(path.join(inbox, 'failed', 'crashy.mp4.error.txt')), 30_000, 'crashy.mp4 in failed/');
    const reason = await fs.readFile(path.join(inbox, 'failed', 'crashy.mp4.error.txt'), 'utf8');
    assert.match(reason, /^failed 2 times: the Node-RED process that held it stopped before finishing it/);
    assert.match(reason, /attempt: 3/);
    // Orphaned encoders may still be finishing the files they were writing: those were removed at the restart.
    for (const pid of await processesNaming(out)) process.kill(pid, 'SIGKILL');
    const left = await filesIn(out);
    assert.ok(!left.some((f) => f.startsWith('crashy') || tempOwner(path.basename(f)) !== undefined), `no output or temporary file of the crashed jobs: ${left.join(', ')}`);
    assert.deepEqual(await fs.readdir(path.join(inbox, '.processing')), []);
    assert.ok(alive(red), 'Node-RED is running');
  });
});
