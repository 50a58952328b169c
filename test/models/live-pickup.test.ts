/**
 * The whole path a new user takes, in a real Node-RED process set up as
 * `npm start` sets one up (this package linked into a fresh user dir, the
 * watched-folder example deployed): a photo asking for a phrase only SAM 3
 * knows fails with no model; `sam3-model fetch --accept-license`, with no
 * source and no folder, run from that user dir against a stand-in for the
 * default release, installs the model where that Node-RED looks; Node-RED
 * loads it with no restart, and the next photo is redacted by SAM 3.
 */
import assert from 'node:assert/strict';
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main, type CliIo } from '../../src/models/cli';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { startNodeRed, type NodeRedProcess } from '../helpers/node-red-process';
import { tempDir } from '../helpers/temp';
import { exists, redImage, until, WATCHED_EXAMPLE } from '../security/support';
import { HubServer } from './hub-server';

describe('a model fetched while Node-RED runs is picked up without a restart', () => {
  let release: HubServer;
  let red: NodeRedProcess | undefined;
  before(async () => {
    const dir = path.join(tempDir(), 'release');
    await buildFixtureModel(dir);
    release = await new HubServer({ dir }).start();
  });
  after(async () => {
    await red?.stop();
    await release.stop();
  });

  test('fetch with no source, then the next photo is redacted by SAM 3', { timeout: 240_000 }, async () => {
    const userDir = tempDir('user');
    const inbox = path.join(userDir, 'redact', 'incoming');
    const out = path.join(userDir, 'redact', 'redacted');
    await fs.mkdir(inbox, { recursive: true });
    await fs.mkdir(out, { recursive: true });
    const flow = JSON.parse(readFileSync(WATCHED_EXAMPLE, 'utf8')) as object[];
    // The model folder is left to Node-RED: <userDir>/models/sam3, as after `npm start`.
    red = await startNodeRed(userDir, flow, { SAM3_MODEL_DIR: '', REDACT_WATCH_DIR: inbox, REDACT_OUTPUT_DIR: out, REDACT_PROMPTS: 'red' });

    await fs.writeFile(path.join(inbox, 'before.png'), await redImage());
    await until(() => exists(path.join(inbox, 'failed', 'before.png.error.txt')), 60_000, 'the photo to fail with no SAM 3');
    assert.match(await fs.readFile(path.join(inbox, 'failed', 'before.png.error.txt'), 'utf8'), /"red" needs the SAM 3 model/);

    let said = '';
    const io: CliIo = {
      stdout: { write: (s: string) => ((said += s), true) },
      stderr: { write: (s: string) => ((said += s), true) },
      env: { SAM3_RELEASE_API: release.url },
      cwd: userDir,
    };
    assert.equal(await main(['fetch', '--accept-license'], io), 0, said);
    assert.match(said, new RegExp(`model folder: ${userDir.replace(/[/.]/g, '\\$&')}/models/sam3 \\(inside the Node-RED user directory`));

    const log = (): string => red?.log.join('') ?? '';
    await until(() => /passed the check: loading it/.test(log()), 60_000, 'Node-RED to see the new model');
    await until(() => /SAM 3 model loaded from/.test(log()), 60_000, 'Node-RED to load it');

    await fs.writeFile(path.join(inbox, 'after.png'), await redImage());
    await until(() => exists(path.join(out, 'after.png.audit.json')), 60_000, 'the photo to be redacted');
    const audit = JSON.parse(await fs.readFile(path.join(out, 'after.png.audit.json'), 'utf8')) as { backends: Record<string, Array<{ backend: string }>>; instancesPerLabel: Record<string, { instances: number }> };
    assert.deepEqual(audit.backends.red.map((b) => b.backend), ['sam3']);
    assert.ok(audit.instancesPerLabel.red.instances >= 1, 'the red target was found');
  });
});
