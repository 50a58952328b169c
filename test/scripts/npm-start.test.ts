/**
 * What `npm start` does before Node-RED starts: it builds only when the
 * sources changed since the last build, and the user dir it makes has no
 * welcome tour or update dialog over the flow.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../helpers/temp';

const root = path.resolve(__dirname, '..', '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain script of the project, not a typed module
const start = require(path.join(root, 'scripts', 'start-support.js')) as {
  needsBuild(root: string): boolean;
  recordBuild(root: string): void;
  settingsText(): string;
  ensureSettings(file: string): boolean;
};

describe('npm start', () => {
  test('this checkout, just built by the test command, is not built again', () => {
    assert.equal(start.needsBuild(root), false, 'the build recorded what it was built from (or a source was edited after the last build: run npm run build)');
  });

  test('a build runs when there is none, and again only after a source or editor file changed', async () => {
    const tree = tempDir();
    await fs.mkdir(path.join(tree, 'src'), { recursive: true });
    await fs.mkdir(path.join(tree, 'nodes'), { recursive: true });
    await fs.writeFile(path.join(tree, 'src', 'a.ts'), 'export const a = 1;\n');
    await fs.writeFile(path.join(tree, 'tsconfig.json'), '{}');
    await fs.writeFile(path.join(tree, 'package.json'), '{}');
    assert.equal(start.needsBuild(tree), true, 'nothing built yet');
    await fs.mkdir(path.join(tree, 'dist', 'src'), { recursive: true });
    await fs.writeFile(path.join(tree, 'dist', 'src', 'index.js'), '');
    assert.equal(start.needsBuild(tree), true, 'built, but from what is not known');
    start.recordBuild(tree);
    assert.equal(start.needsBuild(tree), false);
    await fs.writeFile(path.join(tree, 'src', 'a.ts'), 'export const a = 2;\n');
    assert.equal(start.needsBuild(tree), true, 'a source changed');
    start.recordBuild(tree);
    await fs.writeFile(path.join(tree, 'nodes', 'x.html'), '<p></p>');
    assert.equal(start.needsBuild(tree), true, 'an editor file appeared');
    start.recordBuild(tree);
    await fs.rm(path.join(tree, 'dist', 'src', 'index.js'));
    assert.equal(start.needsBuild(tree), true, 'the build output went missing');
  });

  test('the user dir turns off the welcome tour and the update dialog; a settings file the user made their own is kept', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'settings.js');
    assert.equal(start.ensureSettings(file), true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED reads it with require too
    const settings = require(file) as { uiHost: string; telemetry: { enabled: boolean; updateNotification: boolean }; editorTheme: { tours: boolean } };
    assert.equal(settings.uiHost, '127.0.0.1');
    assert.deepEqual(settings.telemetry, { enabled: false, updateNotification: false });
    assert.equal(settings.editorTheme.tours, false);
    assert.equal(start.ensureSettings(file), false, 'already as wanted');

    // What an earlier `npm start` wrote, before it turned these off: brought up to date.
    const earlier = `module.exports = {
  uiHost: process.env.HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  flowFile: 'flows.json',
  // Where sam3-model looks when its folder field is blank and SAM3_MODEL_DIR is unset.
  sam3ModelDir: require('path').join(__dirname, 'models', 'sam3'),
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
`;
    await fs.writeFile(file, earlier);
    assert.equal(start.ensureSettings(file), true);
    assert.equal(await fs.readFile(file, 'utf8'), start.settingsText());

    const own = "module.exports = { uiPort: 1999, editorTheme: { tours: true } };\n";
    await fs.writeFile(file, own);
    assert.equal(start.ensureSettings(file), false);
    assert.equal(await fs.readFile(file, 'utf8'), own);
  });
});
