import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fetchModel, type FetchOptions } from '../../src/models/fetch';
import { HubSource, type HubOptions } from '../../src/models/hub-source';
import type { ProgressSink } from '../../src/models/progress';
import { verifyModelFolder } from '../../src/models/verify';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { tempDir } from '../helpers/temp';
import { externaliseLargestWeight } from './external-data';
import { COMMIT, HubServer } from './hub-server';

const FP16_FILES = ['LICENSE', 'config.json', 'geo-encoder-mask-decoder-fp16.onnx', 'text-encoder-fp16.onnx', 'tokenizer.json', 'vision-encoder-fp16.onnx'];
const FP32_FILES = ['LICENSE', 'config.json', 'geo-encoder-mask-decoder.onnx', 'text-encoder.onnx', 'text-encoder.onnx.data', 'tokenizer.json', 'vision-encoder.onnx'];
// No waiting between attempts, and one attempt unless a test asks for more.
const FAST: Pick<FetchOptions, 'retries' | 'backoffMs' | 'stallMs'> = { retries: 0, backoffMs: 5, stallMs: 10_000 };

/** A repo like a real one: two precisions (fp32 with external weights), a licence, a README, and an unrelated folder. */
async function buildRepo(): Promise<string> {
  const dir = path.join(tempDir(), 'repo');
  await buildFixtureModel(dir);
  await buildFixtureModel(dir, { dtype: 'float16', suffix: '-fp16' });
  await externaliseLargestWeight(path.join(dir, 'text-encoder.onnx'));
  await fs.writeFile(path.join(dir, 'LICENSE'), 'SAM License (test stand-in)\n');
  await fs.writeFile(path.join(dir, 'README.md'), '# model card\n');
  await fs.mkdir(path.join(dir, 'extras'));
  await fs.writeFile(path.join(dir, 'extras', 'notes.txt'), 'not part of the model\n');
  return dir;
}

async function filesIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort();
}

async function assertSameBytes(repo: string, dest: string, names: string[]): Promise<void> {
  for (const name of names) assert.ok((await fs.readFile(path.join(repo, name))).equals(await fs.readFile(path.join(dest, name))), name);
}

/** A progress sink that fails the test if the destination ever exists while bytes are moving. */
function watching(dest: string, seen: string[] = []): ProgressSink {
  const check = (): void => assert.equal(existsSync(dest), false, 'the destination appeared before the download was complete');
  return {
    begin: check,
    file: (name) => (check(), seen.push(name)),
    advance: check,
    note: (msg) => void seen.push(msg),
    end: () => undefined,
  };
}

describe('fetch from a Hugging Face-style hub', () => {
  let repo: string;
  let hub: HubServer;
  before(async () => {
    repo = await buildRepo();
    hub = await new HubServer({ dir: repo }).start();
  });
  after(() => hub.stop());
  beforeEach(() => {
    hub.requests.length = 0;
    hub.cutOnce.clear();
    hub.corrupt.clear();
  });
  // An empty environment, so that a token or endpoint of the machine running the tests never leaks in.
  const source = (opts: Partial<HubOptions> = {}, env: NodeJS.ProcessEnv = {}): HubSource =>
    new HubSource({ repo: hub.repo, endpoint: hub.url, ...opts }, env);
  const destIn = (): string => path.join(tempDir(), 'models', 'sam3');

  test("downloads one variant's files, pinned to a commit, and installs them only when complete", async () => {
    const dest = destIn();
    const seen: string[] = [];
    const result = await fetchModel({ source: source(), dest, variant: 'fp16', progress: watching(dest, seen), ...FAST });
    assert.equal(result.variant, 'fp16');
    assert.equal(result.report.ok, true);
    assert.deepEqual(await filesIn(dest), FP16_FILES);
    await assertSameBytes(repo, dest, FP16_FILES);
    assert.equal((await verifyModelFolder(dest, 'fp16')).ok, true);
    assert.equal(existsSync(`${dest}.partial-download`), false, 'no staging folder is left');
    assert.deepEqual(await fs.readdir(path.dirname(dest)), ['sam3']);
    // Only what the variant needs was asked for, and always at the pinned commit.
    const files = hub.requests.filter((r) => r.path.includes('/resolve/'));
    assert.deepEqual(files.map((r) => path.basename(r.path)).sort(), FP16_FILES);
    assert.ok(files.every((r) => r.path.includes(`/resolve/${COMMIT}/`)));
    assert.ok(seen.includes('vision-encoder-fp16.onnx'));
  });

  test('with no variant named it takes the best complete one, external weights included', async () => {
    const dest = destIn();
    const result = await fetchModel({ source: source(), dest, ...FAST });
    assert.equal(result.variant, '');
    assert.deepEqual(await filesIn(dest), FP32_FILES);
    await assertSameBytes(repo, dest, FP32_FILES);
    // 'fp32' is accepted as the name of the unsuffixed files.
    const again = await fetchModel({ source: source(), dest: destIn(), variant: 'fp32', ...FAST });
    assert.equal(again.variant, '');
  });

  test('an interrupted transfer is resumed by the next run from the bytes already on disk', async () => {
    const dest = destIn();
    hub.cutOnce.set('text-encoder-fp16.onnx', 300_000);
    await assert.rejects(fetchModel({ source: source(), dest, variant: 'fp16', progress: watching(dest), ...FAST }), (err: Error) => {
      assert.match(err.message, /text-encoder-fp16\.onnx: connection lost.*kept; run the same command again to resume/s);
      return true;
    });
    assert.equal(existsSync(dest), false, 'nothing is installed after an interruption');
    const partial = path.join(`${dest}.partial-download`, 'text-encoder-fp16.onnx.partial');
    const kept = (await fs.stat(partial)).size;
    const whole = (await fs.stat(path.join(repo, 'text-encoder-fp16.onnx'))).size;
    assert.ok(kept > 0 && kept < whole, `kept ${kept} of ${whole} bytes`);

    hub.requests.length = 0;
    await fetchModel({ source: source(), dest, variant: 'fp16', progress: watching(dest), ...FAST });
    const asked = hub.requestsFor('text-encoder-fp16.onnx');
    assert.equal(asked.length, 1);
    assert.equal(asked[0].range, `bytes=${kept}-`);
    assert.deepEqual(hub.requestsFor('vision-encoder-fp16.onnx'), [], 'a file finished by the first run is not fetched again');
    await assertSameBytes(repo, dest, FP16_FILES);
    assert.equal((await verifyModelFolder(dest, 'fp16')).ok, true);
    assert.equal(existsSync(`${dest}.partial-download`), false);
  });

  test('a dropped connection is retried within the run, resuming with a range request', async () => {
    const dest = destIn();
    hub.cutOnce.set('geo-encoder-mask-decoder-fp16.onnx', 3000);
    const notes: string[] = [];
    await fetchModel({ source: source(), dest, variant: 'fp16', progress: watching(dest, notes), ...FAST, retries: 2 });
    const asked = hub.requestsFor('geo-encoder-mask-decoder-fp16.onnx');
    assert.equal(asked.length, 2);
    assert.equal(asked[0].range, undefined);
    assert.match(asked[1].range ?? '', /^bytes=[1-9]\d*-$/);
    assert.ok(notes.some((n) => /trying again/.test(n)));
    await assertSameBytes(repo, dest, FP16_FILES);
  });

  test('a file whose sha256 does not match is refused and nothing is installed', async () => {
    const dest = destIn();
    hub.corrupt.add('text-encoder-fp16.onnx');
    await assert.rejects(fetchModel({ source: source(), dest, variant: 'fp16', ...FAST }), /text-encoder-fp16\.onnx: checksum mismatch \(expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}\); the file was deleted/);
    assert.equal(existsSync(dest), false);
    const staged = await fs.readdir(`${dest}.partial-download`);
    assert.ok(!staged.some((f) => f.startsWith('text-encoder-fp16.onnx')), 'the bad bytes are gone');
  });

  test('a small file is checked against its git blob id', async () => {
    const dest = destIn();
    hub.corrupt.add('tokenizer.json');
    await assert.rejects(fetchModel({ source: source(), dest, variant: 'fp16', ...FAST }), /tokenizer\.json: checksum mismatch \(expected git-sha1/);
    assert.equal(existsSync(dest), false);
  });

  test('an existing model folder is left alone unless forced, then swapped whole', async () => {
    const dest = destIn();
    await fs.mkdir(dest, { recursive: true });
    await fs.writeFile(path.join(dest, 'old-model.onnx'), 'old');
    await assert.rejects(fetchModel({ source: source(), dest, variant: 'fp16', ...FAST }), /already exists; pass --force/);
    assert.deepEqual(await filesIn(dest), ['old-model.onnx']);
    assert.deepEqual(hub.requests.filter((r) => r.path.includes('/resolve/')), [], 'refused before downloading anything');

    const result = await fetchModel({ source: source(), dest, variant: 'fp16', force: true, ...FAST });
    assert.equal(result.replaced, true);
    assert.deepEqual(await filesIn(dest), FP16_FILES);
    assert.deepEqual(await fs.readdir(path.dirname(dest)), ['sam3'], 'the old folder is gone');
  });

  test('an empty destination folder is simply filled', async () => {
    const dest = destIn();
    await fs.mkdir(dest, { recursive: true });
    await fetchModel({ source: source(), dest, variant: 'fp16', ...FAST });
    assert.deepEqual(await filesIn(dest), FP16_FILES);
  });

  test('a variant the repo does not have is refused with the ones it has', async () => {
    await assert.rejects(fetchModel({ source: source(), dest: destIn(), variant: 'q4f16', ...FAST }), /has no complete 'q4f16' variant\. It has: fp32, fp16\./);
  });

  test('an unknown revision is explained', async () => {
    await assert.rejects(fetchModel({ source: source({ revision: 'v9' }), dest: destIn(), ...FAST }), /the revision 'v9' does not exist/);
  });
});

describe('fetch from a gated repo', () => {
  let repo: string;
  let cdn: HubServer;
  let hub: HubServer;
  before(async () => {
    repo = await buildRepo();
    cdn = await new HubServer({ dir: repo }).start();
    hub = await new HubServer({ dir: repo, token: 'hf_granted', deniedTokens: ['hf_not_accepted'], cdnOrigin: cdn.url }).start();
  });
  after(async () => {
    await hub.stop();
    await cdn.stop();
  });
  const fetchWith = (env: NodeJS.ProcessEnv, dest = path.join(tempDir(), 'sam3')) =>
    fetchModel({ source: new HubSource({ repo: hub.repo, endpoint: hub.url }, env), dest, variant: 'fp16', ...FAST });

  test('without HF_TOKEN the refusal says how to get access, and nothing is installed', async () => {
    const dest = path.join(tempDir(), 'sam3');
    await assert.rejects(fetchWith({}, dest), (err: Error) => {
      assert.match(err.message, /needs a Hugging Face login/);
      assert.match(err.message, /accept the licence/);
      assert.match(err.message, new RegExp(`${hub.url}/${hub.repo}`));
      assert.match(err.message, /HF_TOKEN/);
      assert.match(err.message, /The hub says: "Access to model .* is restricted/);
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  test('a token the hub does not know is called invalid', async () => {
    await assert.rejects(fetchWith({ HF_TOKEN: 'hf_typo' }), /refused the token in HF_TOKEN .*invalid or expired/);
  });

  test('a valid token without the licence accepted is told to accept it', async () => {
    await assert.rejects(fetchWith({ HF_TOKEN: 'hf_not_accepted' }), /no access to .* yet \(HTTP 403.*Accept the licence/);
  });

  test('with HF_TOKEN it downloads, and the token never reaches the CDN it is redirected to', async () => {
    hub.requests.length = 0;
    cdn.requests.length = 0;
    const dest = path.join(tempDir(), 'sam3');
    await fetchWith({ HF_TOKEN: 'hf_granted' }, dest);
    assert.deepEqual(await filesIn(dest), FP16_FILES);
    assert.ok(hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorization === 'Bearer hf_granted'));
    assert.ok(cdn.requests.length >= 3, 'the graphs came from the CDN');
    assert.ok(cdn.requests.every((r) => r.authorization === undefined));
  });
});

describe('fetch from a repo with the model in a subfolder and a long listing', () => {
  let hub: HubServer;
  before(async () => {
    const dir = path.join(tempDir(), 'repo');
    await buildFixtureModel(path.join(dir, 'onnx'), { dtype: 'float16', suffix: '-fp16' });
    await fs.writeFile(path.join(dir, 'README.md'), '# card\n');
    hub = await new HubServer({ dir, pageSize: 2 }).start();
  });
  after(() => hub.stop());

  test('the subfolder is suggested, then fetched flat; every page of the listing is read', async () => {
    const source = (subfolder?: string): HubSource => new HubSource({ repo: hub.repo, endpoint: hub.url, subfolder }, {});
    await assert.rejects(fetchModel({ source: source(), dest: path.join(tempDir(), 'a'), ...FAST }), /fetch with --subfolder onnx/);
    const dest = path.join(tempDir(), 'b');
    const result = await fetchModel({ source: source('onnx'), dest, ...FAST });
    assert.equal(result.variant, 'fp16');
    assert.deepEqual(await filesIn(dest), ['config.json', 'geo-encoder-mask-decoder-fp16.onnx', 'text-encoder-fp16.onnx', 'tokenizer.json', 'vision-encoder-fp16.onnx']);
    assert.ok(hub.requests.filter((r) => r.path.includes('/tree/')).length >= 3);
  });
});

describe('fetch when the server stalls or another fetch is running', () => {
  let hub: HubServer;
  before(async () => {
    hub = await new HubServer({ dir: await buildRepo() }).start();
  });
  after(() => hub.stop());
  const source = (): HubSource => new HubSource({ repo: hub.repo, endpoint: hub.url }, {});

  test('a transfer that goes silent is given up after the stall time and resumed', async () => {
    const dest = path.join(tempDir(), 'sam3');
    hub.stallOnce.set('text-encoder-fp16.onnx', 100_000);
    await fetchModel({ source: source(), dest, variant: 'fp16', retries: 1, backoffMs: 5, stallMs: 300 });
    const asked = hub.requestsFor('text-encoder-fp16.onnx');
    assert.equal(asked.length, 2);
    assert.match(asked[1].range ?? '', /^bytes=[1-9]\d*-$/);
    assert.equal((await verifyModelFolder(dest, 'fp16')).ok, true);
  });

  test('two fetches into one folder at once: the second is refused, the first completes', async () => {
    const dest = path.join(tempDir(), 'sam3');
    const first = fetchModel({ source: source(), dest, variant: 'fp16', ...FAST });
    const second = fetchModel({ source: source(), dest, variant: 'fp16', ...FAST });
    // Whichever reaches the staging folder first wins; the other must not touch it.
    const settled = await Promise.allSettled([first, second]);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    assert.equal(refused.length, 1, refused.map((r) => String(r.reason as Error)).join('; '));
    assert.match(String(refused[0].reason), /another fetch in this process is downloading into/);
    assert.deepEqual(await filesIn(dest), FP16_FILES);
  });

  test('a lock left by a process that died is taken over', async () => {
    const dest = path.join(tempDir(), 'sam3');
    await fs.mkdir(`${dest}.partial-download`, { recursive: true });
    // A pid far above any pid_max: no such process.
    await fs.writeFile(path.join(`${dest}.partial-download`, '.sam3-fetch.lock'), '99999999');
    await fetchModel({ source: source(), dest, variant: 'fp16', ...FAST });
    assert.deepEqual(await filesIn(dest), FP16_FILES);
  });
});
