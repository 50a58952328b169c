/**
 * `sam3-model fetch` with no source: usls' public GitHub release, imitated
 * on 127.0.0.1 (the releases API, GitHub's redirect to the bytes, a dropped
 * connection, a wrong listed size, the older 4-file set beside the v2
 * files). What a user sees: the choice and the licence before any download,
 * no download without accepting it, only the v2 files of one variant, and the
 * folder the Node-RED that loads the model looks in.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main, type CliIo } from '../../src/models/cli';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { tempDir } from '../helpers/temp';
import { HubServer } from './hub-server';

async function run(argv: string[], env: NodeJS.ProcessEnv, cwd = tempDir(), ask?: CliIo['ask']): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) }, env, cwd, ask };
  const code = await main(argv, io);
  return { code, out, err };
}

const graphs = (names: string[]): string[] => names.filter((n) => n.endsWith('.onnx')).sort();

describe('sam3-model fetch from the default release', () => {
  let release: HubServer;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    const dir = path.join(tempDir(), 'release');
    await buildFixtureModel(dir);
    await buildFixtureModel(dir, { suffix: '-q8' });
    await buildFixtureModel(dir, { dtype: 'float16', suffix: '-fp16' });
    // The older 4-file export in the same release: never taken.
    await fs.writeFile(path.join(dir, 'decoder.onnx'), 'not for this engine');
    await fs.writeFile(path.join(dir, 'geometry-encoder.onnx'), 'not for this engine');
    release = await new HubServer({ dir }).start();
    env = { SAM3_RELEASE_API: release.url };
  });
  after(() => release.stop());

  test('on a CPU it takes the q8 variant and the tokenizer, after saying what and under which licence', async () => {
    const dest = path.join(tempDir(), 'models', 'sam3');
    const r = await run(['fetch', '--accept-license', '--dest', dest], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /usls project's public release .*: SAM 3 variant q8 \(the default for a CPU\), \d+ files, [\d.]+ [kM]?B:\n {2}vision-encoder-q8\.onnx/);
    assert.match(r.out, /Meta's SAM 3, re-exported to ONNX by a third party .* SAM License:\n {2}https:\/\/github\.com\/facebookresearch\/sam3/);
    assert.deepEqual(graphs(await fs.readdir(dest)), ['geo-encoder-mask-decoder-q8.onnx', 'text-encoder-q8.onnx', 'vision-encoder-q8.onnx']);
    assert.ok(existsSync(path.join(dest, 'tokenizer.json')));
    const downloaded = [...new Set(release.requests.filter((q) => q.path.startsWith('/cdn/')).map((q) => path.basename(q.path)))].sort();
    assert.deepEqual(downloaded.filter((f) => f.endsWith('.onnx')), ['geo-encoder-mask-decoder-q8.onnx', 'text-encoder-q8.onnx', 'vision-encoder-q8.onnx'], 'only the q8 graphs were downloaded');
    assert.match(r.out, /OK: variant q8 of .* matches the SAM 3 contract/);
    assert.match(r.out, /the sam3-model node loads variant q8 with its variant field blank \(for a CPU\)/);
  });

  test('without --accept-license, and nobody at a terminal, nothing is downloaded', async () => {
    const dest = path.join(tempDir(), 'models', 'sam3');
    const before = release.requests.length;
    const r = await run(['fetch', '--dest', dest], env);
    assert.equal(r.code, 1);
    assert.match(r.err, /pass --accept-license/);
    assert.match(r.err, /nothing was downloaded: the licence was not accepted/);
    assert.ok(!existsSync(dest));
    assert.ok(release.requests.slice(before).every((q) => q.path.startsWith('/repos/')), 'only the listing was read');
  });

  test('a person at a terminal is asked, and a no stops it', async () => {
    const dest = path.join(tempDir(), 'models', 'sam3');
    let asked = '';
    const r = await run(['fetch', '--dest', dest], env, tempDir(), async (q) => ((asked = q), false));
    assert.equal(r.code, 1);
    assert.match(asked, /Accept the SAM License and download\? \[y\/N\]/);
    assert.ok(!existsSync(dest));
  });

  test('for a GPU it takes fp16', async () => {
    const dest = path.join(tempDir(), 'gpu');
    const r = await run(['fetch', '--accept-license', '--device', 'gpu', '--dest', dest], env);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(graphs(await fs.readdir(dest)), ['geo-encoder-mask-decoder-fp16.onnx', 'text-encoder-fp16.onnx', 'vision-encoder-fp16.onnx']);
  });

  test('a connection dropped mid-file resumes; a file whose listed size is wrong installs nothing', async () => {
    const dest = path.join(tempDir(), 'cut');
    release.cutOnce.set('vision-encoder-q8.onnx', 200);
    const r = await run(['fetch', '--accept-license', '--dest', dest], env);
    assert.equal(r.code, 0, r.err);
    assert.ok(release.requestsFor('vision-encoder-q8.onnx').some((q) => q.range?.startsWith('bytes=200-')), 'the second request resumed at byte 200');

    const bad = path.join(tempDir(), 'bad');
    release.misSized.add('text-encoder-q8.onnx');
    try {
      const b = await run(['fetch', '--accept-license', '--dest', bad], env);
      assert.equal(b.code, 1);
      assert.match(b.err, /text-encoder-q8\.onnx/);
      assert.ok(!existsSync(bad), 'no folder where the engine looks');
    } finally {
      release.misSized.clear();
    }
  });

  test('with no --dest: the folder the Node-RED that loads it looks in, said with why', async () => {
    // Inside a checkout of this project: the folder `npm start` uses.
    const checkout = tempDir();
    await fs.writeFile(path.join(checkout, 'package.json'), JSON.stringify({ name: '@sam3-redact/node-red-sam3-redact' }));
    await fs.mkdir(path.join(checkout, 'scripts'));
    await fs.writeFile(path.join(checkout, 'scripts', 'start.js'), '');
    await fs.mkdir(path.join(checkout, 'src'));
    const r = await run(['fetch', '--accept-license'], env, path.join(checkout, 'src'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /model folder: .*\.node-red-user\/models\/sam3 \(inside this project's checkout: the folder its `npm start` Node-RED uses/);
    assert.ok(existsSync(path.join(checkout, '.node-red-user', 'models', 'sam3', 'tokenizer.json')));

    // Inside a Node-RED user directory.
    const userDir = tempDir();
    await fs.writeFile(path.join(userDir, 'settings.js'), 'module.exports = {};\n');
    const v = await run(['verify'], env, userDir);
    assert.match(v.err, new RegExp(`model folder: ${userDir.replace(/[/.]/g, '\\$&')}/models/sam3 \\(inside the Node-RED user directory`));

    // SAM3_MODEL_DIR wins, as it does for the node.
    const own = path.join(tempDir(), 'own');
    const o = await run(['info'], { ...env, SAM3_MODEL_DIR: own }, userDir);
    assert.match(o.err, new RegExp(`model folder: ${own.replace(/[/.]/g, '\\$&')} \\(SAM3_MODEL_DIR is set\\)`));
  });
});
