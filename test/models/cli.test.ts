import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main, type CliIo } from '../../src/models/cli';
import type { VerifyResult } from '../../src/models/report';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { buildSamexporterFixture } from '../fixtures/samexporter-model';
import { tempDir } from '../helpers/temp';
import { HubServer } from './hub-server';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'sam3-model.js');

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = tempDir()): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => ((out += s), true) },
    stderr: { write: (s: string) => ((err += s), true) },
    env,
    cwd,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('sam3-model command', () => {
  let good: string;
  let hub: HubServer;
  before(async () => {
    good = path.join(tempDir(), 'good');
    await buildFixtureModel(good);
    await buildFixtureModel(good, { dtype: 'float16', suffix: '-fp16' });
    hub = await new HubServer({ dir: good, token: 'hf_ok' }).start();
  });
  after(() => hub.stop());

  test('verify: 0 and OK for a good folder, 1 and the problems for a broken one', async () => {
    const ok = await run(['verify', good, '--variant', 'fp16']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /OK: variant fp16 of .* matches the SAM 3 contract/);
    assert.match(ok.out, /image size 112/);

    const broken = path.join(tempDir(), 'broken');
    await fs.cp(good, broken, { recursive: true });
    // Blank picks the best complete variant, so both decoders go.
    await fs.rm(path.join(broken, 'geo-encoder-mask-decoder.onnx'));
    await fs.rm(path.join(broken, 'geo-encoder-mask-decoder-fp16.onnx'));
    const bad = await run(['verify', broken]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /1 problem with .*broken:\n  - .*missing geo-encoder-mask-decoder\.onnx/);
    assert.match(bad.out, /models\/README\.md/);
  });

  test('verify without a folder checks $SAM3_MODEL_DIR, as the node does; a relative folder is from the working directory', async () => {
    const r = await run(['verify', '--json'], { SAM3_MODEL_DIR: good });
    assert.equal(r.code, 0, r.out);
    assert.equal((JSON.parse(r.out) as VerifyResult).dir, good);
    const rel = await run(['verify', 'good'], {}, path.dirname(good));
    assert.equal(rel.code, 0, rel.out);
  });

  test('info prints variants, graphs with their tensors, image size and sizes on disk', async () => {
    const r = await run(['info', good, '--variant', 'fp16']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /complete variants: fp32, fp16/);
    assert.match(r.out, /image size: 112 x 112/);
    assert.match(r.out, /vision-encoder-fp16\.onnx +\d/);
    assert.match(r.out, /in +images +float16 +\[batch, 3, 112, 112\]/);
    assert.match(r.out, /out +pred_masks +float16 +\[batch, 4, 32, 32\]/);
    assert.match(r.out, /on disk: this variant .* whole folder/);
    const json = await run(['info', good, '--json']);
    assert.equal((JSON.parse(json.out) as VerifyResult).graphs.length, 3);
    assert.match(r.out, /layout: the usls 3-file split/);
  });

  test("verify and info say which layout a folder holds: samexporter's too", async () => {
    const dir = path.join(tempDir(), 'samexporter');
    await buildSamexporterFixture(dir);
    const v = await run(['verify', dir]);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /layout: samexporter's \(AnyLabeling\) export/);
    const i = await run(['info', dir]);
    assert.match(i.out, /layout: samexporter's/);
    assert.match(i.out, /in +image +uint8 +\[3, 112, 112\]/);
    assert.match(i.out, /out +masks +bool +\[num, 1, height, width\]/);
  });

  test('usage errors exit 2 with the usage', async () => {
    for (const argv of [[], ['frobnicate'], ['verify', '--nope'], ['fetch', 'not a repo'], ['fetch', '--device', 'tpu'], ['fetch', 'a/b', '--url', 'http://x/'], ['verify', 'a', 'b']]) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /usage:/);
    }
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /sam3-model fetch <owner\/name>/);
  });

  test('fetch reads HF_ENDPOINT and HF_TOKEN, then installs and checks the model', async () => {
    const dest = path.join(tempDir(), 'sam3');
    const denied = await run(['fetch', hub.repo, '--dest', dest, '--variant', 'fp16'], { HF_ENDPOINT: hub.url });
    assert.equal(denied.code, 1);
    assert.match(denied.err, /HF_TOKEN/);
    assert.equal(existsSync(dest), false);

    const r = await run(['fetch', hub.repo, '--dest', dest, '--variant', 'fp16'], { HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_ok' });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /installed SAM 3 variant fp16 in .*sam3 \(5 files/);
    assert.match(r.out, /the sam3-model node loads variant fp16 with its variant field blank \(for a CPU\)/);
    assert.match(r.err, /vision-encoder-fp16\.onnx \(\d/, 'progress names each file on stderr');

    const again = await run(['fetch', hub.repo, '--dest', dest, '--variant', 'fp16'], { HF_ENDPOINT: hub.url, HF_TOKEN: 'hf_ok' });
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists; pass --force/);
  });

  test('manifest writes manifest.json and SHA256SUMS for a folder to publish', async () => {
    const dir = path.join(tempDir(), 'publish');
    await fs.cp(good, dir, { recursive: true });
    const r = await run(['manifest', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote manifest\.json and SHA256SUMS for 8 files/);
    assert.ok(existsSync(path.join(dir, 'SHA256SUMS')));
  });

  test('the installed bin runs the compiled command', async () => {
    const child = spawn(process.execPath, [BIN, 'verify', good], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.match(out, /OK: variant fp32/);
    const usage = spawn(process.execPath, [BIN], { stdio: 'ignore' });
    assert.equal(await new Promise<number | null>((resolve) => usage.on('close', resolve)), 2);
  });
});
