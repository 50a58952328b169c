import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchModel } from '../../src/models/fetch';
import { writeManifest } from '../../src/models/manifest';
import { parseSums, UrlSource } from '../../src/models/url-source';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { tempDir } from '../helpers/temp';
import { HubServer } from './hub-server';

const FAST = { retries: 0, backoffMs: 5, stallMs: 10_000 };
const FP16 = ['config.json', 'geo-encoder-mask-decoder-fp16.onnx', 'text-encoder-fp16.onnx', 'tokenizer.json', 'vision-encoder-fp16.onnx'];

async function sumsOf(dir: string, names: string[]): Promise<string> {
  const lines = await Promise.all(names.map(async (n) => `${createHash('sha256').update(await fs.readFile(path.join(dir, n))).digest('hex')}  ${n}\n`));
  return lines.join('');
}

describe('fetch --url from a plain web folder', () => {
  let withManifest: string;
  let bare: string;
  let hub: HubServer;
  before(async () => {
    const root = tempDir();
    withManifest = path.join(root, 'mirror');
    await buildFixtureModel(withManifest);
    await buildFixtureModel(withManifest, { dtype: 'float16', suffix: '-fp16' });
    await writeManifest(withManifest);
    // A folder as a GitHub release holds it: files only, sha256 sums beside them.
    bare = path.join(root, 'mirror', 'bare');
    await buildFixtureModel(bare, { dtype: 'float16', suffix: '-fp16' });
    await fs.writeFile(path.join(bare, 'SHA256SUMS'), await sumsOf(bare, FP16));
    hub = await new HubServer({ dir: root }).start();
  });
  after(() => hub.stop());

  test('manifest.json lists the files; only the variant asked for is fetched, sha256-checked', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(withManifest, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; size: number; sha256: string }> };
    assert.ok(manifest.files.every((f) => f.size > 0 && /^[0-9a-f]{64}$/.test(f.sha256)));
    assert.equal(parseSums(await fs.readFile(path.join(withManifest, 'SHA256SUMS'), 'utf8')).size, manifest.files.length);

    const dest = path.join(tempDir(), 'sam3');
    const result = await fetchModel({ source: new UrlSource(`${hub.url}/plain/mirror`), dest, variant: 'fp16', ...FAST });
    assert.equal(result.report.ok, true);
    assert.deepEqual((await fs.readdir(dest)).sort(), FP16);
  });

  test('without a manifest the contract names are probed, and SHA256SUMS catches a bad file', async () => {
    const dest = path.join(tempDir(), 'sam3');
    hub.requests.length = 0;
    await fetchModel({ source: new UrlSource(`${hub.url}/plain/mirror/bare/`), dest, variant: 'fp16', ...FAST });
    assert.deepEqual((await fs.readdir(dest)).sort(), FP16);
    // Probes ask for one byte; no probe downloads a whole graph.
    const probes = hub.requests.filter((r) => r.range === 'bytes=0-0');
    assert.ok(probes.length >= 3);

    hub.corrupt.add('mirror/bare/vision-encoder-fp16.onnx');
    try {
      const bad = path.join(tempDir(), 'sam3');
      await assert.rejects(fetchModel({ source: new UrlSource(`${hub.url}/plain/mirror/bare/`), dest: bad, variant: 'fp16', ...FAST }), /vision-encoder-fp16\.onnx: checksum mismatch/);
      assert.equal(existsSync(bad), false);
    } finally {
      hub.corrupt.clear();
    }
  });

  test('a folder with no such variant is refused before anything is downloaded', async () => {
    hub.requests.length = 0;
    await assert.rejects(fetchModel({ source: new UrlSource(`${hub.url}/plain/mirror/bare/`), dest: path.join(tempDir(), 'x'), variant: 'q4f16', ...FAST }), /no complete 'q4f16' variant/);
    assert.ok(hub.requests.every((r) => r.range === 'bytes=0-0' || /manifest\.json|SHA256SUMS/.test(r.path)));
  });

  test('a server that cannot resume sends the file again from the start, and the result is still right', async () => {
    // With a manifest, so that no one-byte probe (answered in full here) takes the cut.
    const plain = await new HubServer({ dir: withManifest, ignoreRange: true }).start();
    try {
      plain.cutOnce.set('text-encoder-fp16.onnx', 200_000);
      const dest = path.join(tempDir(), 'sam3');
      const notes: string[] = [];
      const progress = { begin: () => undefined, file: () => undefined, advance: () => undefined, note: (m: string) => void notes.push(m), end: () => undefined };
      await fetchModel({ source: new UrlSource(`${plain.url}/plain/`), dest, variant: 'fp16', progress, ...FAST, retries: 1 });
      assert.ok(notes.some((n) => /cannot resume; downloading it again from the start/.test(n)), notes.join('\n'));
      assert.ok((await fs.readFile(path.join(dest, 'text-encoder-fp16.onnx'))).equals(await fs.readFile(path.join(withManifest, 'text-encoder-fp16.onnx'))));
    } finally {
      await plain.stop();
    }
  });

  test('a URL that is not http(s) is refused', () => {
    assert.throws(() => new UrlSource('file:///etc/'), /not an http\(s\) URL/);
  });
});
