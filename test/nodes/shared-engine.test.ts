/**
 * The engine a sam3-model node shares, as its folder changes under it: a
 * model that appears is loaded once it passes the check and swapped in; a
 * video job that started before keeps the models it started with until it
 * ends; a half-written folder is not loaded.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_LIMITS, SharedEngine } from '../../src/nodes/lib/shared-engine';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { tempDir } from '../helpers/temp';
import { redImage, until } from '../security/support';

describe('the shared engine picks up a model that appears in its folder', () => {
  const modelDir = path.join(tempDir(), 'models', 'sam3');
  const notes: string[] = [];
  const shared = new SharedEngine({ modelDir, faceModel: false, objectModel: false }, { ...DEFAULT_LIMITS, watchDebounceMs: 300 });
  shared.onNote = (m) => notes.push(m);
  after(() => shared.removeUser('test'));

  test('no model, then a half folder (ignored), then a whole one (loaded); a running video stays on its models', async () => {
    shared.addUser('test', () => undefined);
    await until(() => shared.state === 'no-sam3', 60_000, 'the engine to load without SAM 3');
    const video = new EventEmitter();
    const first = await shared.run(async (e) => e, video);
    assert.equal(first.sam3, undefined);

    // A copy in progress: only the tokenizer so far.
    const staging = path.join(tempDir(), 'staging');
    await buildFixtureModel(staging);
    await fs.mkdir(modelDir, { recursive: true });
    await fs.copyFile(path.join(staging, 'tokenizer.json'), path.join(modelDir, 'tokenizer.json'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(shared.state, 'no-sam3', 'nothing loaded from a half folder');

    for (const f of await fs.readdir(staging)) await fs.copyFile(path.join(staging, f), path.join(modelDir, f));
    await until(() => shared.state === 'ready', 60_000, 'the new model to be loaded');
    assert.ok(notes.some((n) => /passed the check: loading it/.test(n)), notes.join('\n'));

    const later = await shared.run(async (e) => e);
    assert.ok(later.sam3, 'new work gets SAM 3');
    const sameVideo = await shared.run(async (e) => e, video);
    assert.equal(sameVideo, first, 'the video that started before keeps its engine');
    video.emit('finish');
    // Its engine is closed once the video has ended: a call on it now fails, never answers.
    const png = await redImage();
    await until(() => first.segment(png, 'text').then(() => false, (err: Error) => /closed/.test(err.message)), 20_000, 'the old engine to close');
    assert.ok((await later.segment(png, 'red')).instances.length > 0, 'the new one answers with SAM 3');
  });
});
