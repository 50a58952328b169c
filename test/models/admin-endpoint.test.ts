import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { VerifyResult } from '../../src/models/report';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { helper, nodeModule, useNodeRed } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';

/** The part of supertest (which node-red-node-test-helper's request() returns) these tests use. */
interface Agent {
  get(url: string): PromiseLike<{ status: number; body: VerifyResult & { error?: string } }>;
}
const request = (): Agent => (helper as unknown as { request(): Agent }).request();

describe('sam3-model admin endpoint GET /sam3-model/verify', () => {
  useNodeRed();
  let userDir: string;
  let good: string;
  const savedEnv = process.env.SAM3_MODEL_DIR;
  before(async () => {
    userDir = tempDir();
    good = path.join(userDir, 'models', 'sam3');
    await buildFixtureModel(good);
    await buildFixtureModel(good, { dtype: 'float16', suffix: '-fp16' });
    helper.settings({ userDir });
  });
  after(() => {
    if (savedEnv === undefined) delete process.env.SAM3_MODEL_DIR;
    else process.env.SAM3_MODEL_DIR = savedEnv;
  });
  // The route is registered with the node type; a config node alone never loads the model.
  const load = (): Promise<void> => helper.load(nodeModule('sam3-model'), [{ id: 'model-config', type: 'sam3-model', modelDir: '' }]);
  const verify = async (query: string): Promise<VerifyResult> => {
    const res = await request().get(`/sam3-model/verify?${query}`);
    assert.equal(res.status, 200);
    return res.body;
  };

  test('a good folder is reported ok with its variant and image size', async () => {
    await load();
    const r = await verify(`dir=${encodeURIComponent(good)}&variant=fp16`);
    assert.equal(r.ok, true, r.problems.join('\n'));
    assert.equal(r.dir, good);
    assert.equal(r.variant, 'fp16');
    assert.equal(r.imageSize, 112);
    assert.deepEqual(r.variants, ['', 'fp16']);
  });

  test('a broken folder lists its problems', async () => {
    const broken = path.join(tempDir(), 'broken');
    await fs.cp(good, broken, { recursive: true });
    await fs.rm(path.join(broken, 'tokenizer.json'));
    await load();
    const r = await verify(`dir=${encodeURIComponent(broken)}`);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /missing tokenizer\.json/);
  });

  test('the folder is resolved as the node resolves it: relative to the user dir, blank to the defaults', async () => {
    await load();
    delete process.env.SAM3_MODEL_DIR;
    assert.equal((await verify('dir=models%2Fsam3')).dir, good);
    assert.equal((await verify('dir=')).dir, good, 'blank: <userDir>/models/sam3');
    const elsewhere = path.join(tempDir(), 'from-env');
    process.env.SAM3_MODEL_DIR = elsewhere;
    const r = await verify('');
    assert.equal(r.dir, elsewhere, 'blank: SAM3_MODEL_DIR before the user dir');
    assert.equal(r.ok, false);
    assert.match(r.problems[0], /does not exist/);
  });
});
