import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GRAPH_STEMS } from '../../src/engine/sam3/model-folder';
import { readOnnxHeader } from '../../src/models/onnx-header';
import { verifyModelFolder } from '../../src/models/verify';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { buildSamexporterFixture } from '../fixtures/samexporter-model';
import { tempDir } from '../helpers/temp';
import { externaliseLargestWeight } from './external-data';

/** A fresh copy of the two-variant fixture folder, to break in one way. */
async function copyOf(source: string): Promise<string> {
  const dir = path.join(tempDir(), 'model');
  await fs.cp(source, dir, { recursive: true });
  return dir;
}

describe('verifyModelFolder', () => {
  let good: string;
  before(async () => {
    good = path.join(tempDir(), 'good');
    await buildFixtureModel(good);
    await buildFixtureModel(good, { dtype: 'float16', suffix: '-fp16' });
  });

  test('a complete folder passes, with graphs, tensors, image size and sizes on disk', async () => {
    const r = await verifyModelFolder(good);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.variant, '', 'blank picks the unsuffixed fp32 files first, as the engine does');
    assert.deepEqual(r.variants, ['', 'fp16']);
    assert.equal(r.imageSize, 112);
    assert.equal(r.imageSizeFrom, 'graph');
    assert.deepEqual(r.graphs.map((g) => g.file), ['vision-encoder.onnx', 'text-encoder.onnx', 'geo-encoder-mask-decoder.onnx']);
    const decoder = r.graphs[2];
    assert.deepEqual(decoder.inputs.map((v) => v.name), ['fpn_feat_0', 'fpn_feat_1', 'fpn_feat_2', 'fpn_pos_2', 'text_features', 'text_mask', 'input_boxes', 'input_boxes_labels']);
    assert.deepEqual(decoder.outputs.find((v) => v.name === 'pred_masks'), { name: 'pred_masks', type: 'float32', shape: ['batch', 4, 32, 32] });
    const onDisk = async (f: string): Promise<number> => (await fs.stat(path.join(good, f))).size;
    assert.equal(r.sizes.variant, (await Promise.all(r.graphs.map((g) => onDisk(g.file)))).reduce((a, b) => a + b));
    assert.equal(r.sizes.shared, (await onDisk('tokenizer.json')) + (await onDisk('config.json')));
    assert.equal(r.sizes.folder, r.sizes.files.reduce((n, f) => n + f.bytes, 0));
    assert.equal(r.sizes.files.length, 8);
    // The result goes over HTTP to the editor as it is.
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });

  test('a named variant is checked, float16 tensors included', async () => {
    const r = await verifyModelFolder(good, 'fp16');
    assert.equal(r.ok, true, r.problems.join('\n'));
    assert.equal(r.variant, 'fp16');
    assert.equal(r.graphs[0].inputs[0].type, 'float16');
  });

  test('what the header reader sees is what onnxruntime reports', async () => {
    for (const stem of Object.values(GRAPH_STEMS)) {
      for (const file of [`${stem}.onnx`, `${stem}-fp16.onnx`]) {
        const header = await readOnnxHeader(path.join(good, file));
        const session = await ort.InferenceSession.create(path.join(good, file));
        try {
          const fromOrt = (vs: readonly ort.InferenceSession.ValueMetadata[]) => vs.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name }));
          assert.deepEqual(header.inputs, fromOrt(session.inputMetadata), file);
          assert.deepEqual(header.outputs, fromOrt(session.outputMetadata), file);
          assert.equal(header.opset, 17);
        } finally {
          await session.release();
        }
      }
    }
  });

  test('a missing graph is named, with the variants that are complete', async () => {
    const dir = await copyOf(good);
    await fs.rm(path.join(dir, 'text-encoder-fp16.onnx'));
    const r = await verifyModelFolder(dir, 'fp16');
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /missing text-encoder-fp16\.onnx/);
    assert.match(r.problems.join('\n'), /Complete variants in this folder: fp32/);
    // The graphs that are there are still described.
    assert.deepEqual(r.graphs.map((g) => g.file), ['vision-encoder-fp16.onnx', 'geo-encoder-mask-decoder-fp16.onnx']);
  });

  test('a missing folder says so', async () => {
    const r = await verifyModelFolder(path.join(tempDir(), 'nothing-here'));
    assert.equal(r.ok, false);
    assert.equal(r.variant, undefined);
    assert.match(r.problems[0], /does not exist/);
  });

  test('a graph that breaks the contract is reported tensor by tensor', async () => {
    const dir = await copyOf(good);
    await fs.copyFile(path.join(dir, 'vision-encoder.onnx'), path.join(dir, 'text-encoder.onnx'));
    const r = await verifyModelFolder(dir);
    assert.equal(r.ok, false);
    const all = r.problems.join('\n');
    assert.match(all, /text-encoder\.onnx: missing input input_ids \(int64, rank 2\); it has images/);
    assert.match(all, /text-encoder\.onnx: missing output text_features/);
  });

  test('a truncated graph is reported as damaged, not thrown', async () => {
    const dir = await copyOf(good);
    const file = path.join(dir, 'geo-encoder-mask-decoder.onnx');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length >> 1));
    const r = await verifyModelFolder(dir);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /geo-encoder-mask-decoder\.onnx: cannot be read as an ONNX model .*incomplete/);
  });

  test('graphs from two different exports do not pass as one model', async () => {
    const dir = await copyOf(good);
    const other = path.join(tempDir(), 'other');
    await buildFixtureModel(other, { imageSize: 224 });
    await fs.copyFile(path.join(other, 'geo-encoder-mask-decoder.onnx'), path.join(dir, 'geo-encoder-mask-decoder.onnx'));
    const r = await verifyModelFolder(dir);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /vision-encoder\.onnx gives fpn_feat_0 \[batch, 256, 32, 32\] but geo-encoder-mask-decoder\.onnx takes \[batch, 256, 64, 64\]/);
  });

  test('a tokenizer.json that is not a tokenizers file is a problem', async () => {
    const dir = await copyOf(good);
    await fs.writeFile(path.join(dir, 'tokenizer.json'), '<html>Sign in to continue</html>');
    const r = await verifyModelFolder(dir);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /tokenizer\.json cannot be read as JSON/);
  });

  test('external weights must be beside the graph and complete', async () => {
    const dir = await copyOf(good);
    const { dataName, bytes } = await externaliseLargestWeight(path.join(dir, 'text-encoder.onnx'));
    const ok = await verifyModelFolder(dir, '', { load: true });
    assert.equal(ok.ok, true, ok.problems.join('\n'));
    assert.deepEqual(ok.graphs[1].externalData, [{ file: dataName, bytes }]);

    await fs.truncate(path.join(dir, dataName), bytes - 10);
    const short = await verifyModelFolder(dir);
    assert.match(short.problems.join('\n'), new RegExp(`${dataName}: ${bytes - 10} bytes, but text-encoder\\.onnx reads up to byte ${bytes}`));

    await fs.rm(path.join(dir, dataName));
    const missing = await verifyModelFolder(dir);
    assert.equal(missing.ok, false);
    assert.match(missing.problems.join('\n'), /text-encoder\.onnx: its weights file text-encoder\.onnx\.data is missing/);
  });

  test('with load, onnxruntime itself must accept each graph', async () => {
    const r = await verifyModelFolder(good, 'fp16', { load: true });
    assert.equal(r.ok, true, r.problems.join('\n'));
  });

  test("samexporter's layout is recognised and checked against its own contract; empty files in it are damaged graphs", async () => {
    const dir = path.join(tempDir(), 'samexporter');
    await buildSamexporterFixture(dir);
    const r = await verifyModelFolder(dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.layout, 'samexporter');
    assert.equal(r.imageSize, 112);
    assert.deepEqual(r.graphs.map((g) => g.file), ['sam3_image_encoder.onnx', 'sam3_language_encoder.onnx', 'sam3_decoder.onnx']);
    assert.equal((await verifyModelFolder(good)).layout, 'usls');

    const broken = path.join(tempDir(), 'broken');
    await fs.mkdir(broken);
    for (const f of ['sam3_image_encoder.onnx', 'sam3_language_encoder.onnx', 'sam3_decoder.onnx', 'tokenizer.json']) await fs.writeFile(path.join(broken, f), '');
    const b = await verifyModelFolder(broken);
    assert.equal(b.ok, false);
    assert.equal(b.layout, 'samexporter');
    assert.match(b.problems.join('\n'), /sam3_decoder\.onnx: cannot be read as an ONNX model/);
  });

  test("a samexporter folder without the tokenizer.json it never ships says so; half of one says what is missing", async () => {
    const dir = path.join(tempDir(), 'no-tokenizer');
    await buildSamexporterFixture(dir, { noTokenizer: true });
    const r = await verifyModelFolder(dir);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /samexporter's layout\) is incomplete: missing tokenizer\.json\. samexporter's export ships no tokenizer\.json: place CLIP's/);

    const half = path.join(tempDir(), 'half');
    await fs.mkdir(half);
    for (const f of ['sam3_image_encoder.onnx', 'sam3_language_encoder.onnx']) await fs.writeFile(path.join(half, f), '');
    const h = await verifyModelFolder(half);
    assert.equal(h.ok, false);
    assert.match(h.problems.join('\n'), /samexporter's export, but sam3_decoder\.onnx is missing/);
  });

  test('a folder of neither layout gets one message naming what is there and what either layout needs', async () => {
    const dir = path.join(tempDir(), 'other');
    await fs.mkdir(dir);
    for (const f of ['model.onnx', 'notes.txt']) await fs.writeFile(path.join(dir, f), '');
    const r = await verifyModelFolder(dir);
    assert.equal(r.ok, false);
    assert.equal(r.layout, undefined);
    assert.match(r.problems[0], /It has: model\.onnx, notes\.txt; expected either the usls layout \(vision-encoder\.onnx, .*\) or samexporter's \(sam3_image_encoder\.onnx, sam3_language_encoder\.onnx, sam3_decoder\.onnx/);
  });

  test('a model one folder down is pointed at', async () => {
    const parent = tempDir();
    await fs.cp(good, path.join(parent, 'onnx'), { recursive: true });
    const r = await verifyModelFolder(parent);
    assert.match(r.problems.join('\n'), /graphs were found in the subfolder onnx/);
  });
});
