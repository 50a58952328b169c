/**
 * The package as users get it: `npm pack` of a clean copy of the sources (no
 * dist/: `prepack` builds it) holds only what they need (compiled code,
 * editor files, icons, locales, examples, the bundled models), and that
 * tarball, installed into a fresh Node-RED user dir the way the palette
 * manager installs it, loads every node the package declares, and its root
 * exports the engine and the redaction API with their types.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageNodeSets, pkg, root, startNodeRed, waitFor, type NodeRed } from './harness';

interface PackEntry {
  filename: string;
  files: Array<{ path: string; size: number }>;
}

/** What a published file may be: anything else is a mistake (tests, sources, caches, models). */
const ALLOWED = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^models\/README\.md$/, /^models\/face\/(ultraface-rfb-320\.onnx|LICENSE|NOTICE)$/, /^models\/objects\/(nanodet-416\.onnx|LICENSE|NOTICE)$/, /^bin\/[\w-]+\.js$/, /^examples\/[\w-]+\.json$/, /^dist\/src\//];

describe('the published package', { timeout: 10 * 60_000 }, () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'sam3-pack-'));
  let packed: PackEntry;
  let red: NodeRed | undefined;
  before(() => {
    // The sources as a fresh clone has them (tracked and new files, nothing git ignores: no dist/).
    const clean = path.join(work, 'clean');
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      if (!existsSync(path.join(root, f))) continue;
      mkdirSync(path.dirname(path.join(clean, f)), { recursive: true });
      cpSync(path.join(root, f), path.join(clean, f));
    }
    assert.ok(!existsSync(path.join(clean, 'dist')), 'the copy has no build');
    // The build tools, as `npm ci` would install them.
    symlinkSync(path.join(root, 'node_modules'), path.join(clean, 'node_modules'), 'dir');
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: clean, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    packed = (JSON.parse(out.slice(out.indexOf('['))) as PackEntry[])[0];
  });
  after(async () => {
    await red?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('holds only what users need, and all of it', () => {
    const files = packed.files.map((f) => f.path);
    const strays = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
    assert.deepEqual(strays, [], 'files that users do not need');
    for (const [type, js] of Object.entries(pkg['node-red'].nodes)) {
      const stem = js.replace(/\.js$/, '');
      assert.ok(files.includes(js), `${type}: runtime ${js}`);
      assert.ok(files.includes(`${stem}.html`), `${type}: editor ${stem}.html`);
      assert.ok(files.includes(`dist/src/nodes/locales/en-US/${type}.json`), `${type}: messages`);
      assert.ok(files.includes(`dist/src/nodes/locales/en-US/${type}.html`), `${type}: help`);
    }
    assert.ok(files.some((f) => /^dist\/src\/nodes\/icons\/.+\.svg$/.test(f)), 'icons');
    assert.ok(files.includes('dist/src/engine/host/host-process.js'), 'the inference host');
    for (const f of ['ultraface-rfb-320.onnx', 'LICENSE', 'NOTICE']) assert.ok(files.includes(`models/face/${f}`), `the bundled face detector: ${f}`);
    for (const f of ['nanodet-416.onnx', 'LICENSE', 'NOTICE']) assert.ok(files.includes(`models/objects/${f}`), `the bundled person and vehicle detector: ${f}`);
    assert.ok(!files.includes('models/objects/convert.py'), 'not the one-off conversion script');
    assert.ok(files.includes('models/README.md'));
    assert.ok(files.filter((f) => f.startsWith('examples/')).length >= 4, 'the example flows');
    const bundled = ['models/face/ultraface-rfb-320.onnx', 'models/objects/nanodet-416.onnx'];
    assert.ok(!files.some((f) => (/\.onnx$|\/test\/|\.ts$|\.py$/.test(f) && !f.endsWith('.d.ts') && !bundled.includes(f))), 'no model but the bundled detectors, no test or source file');
  });

  test('installed from the tarball into a fresh user dir, Node-RED loads every node', async () => {
    const userDir = path.join(work, 'user');
    mkdirSync(userDir, { recursive: true });
    writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
    // As the palette manager does (npm install in the user dir); offline-friendly: the
    // dependencies come from npm's cache where `npm ci` put them, and onnxruntime-node's
    // CUDA download is skipped as README tells offline users to.
    execFileSync(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--onnxruntime-node-install=skip', path.join(work, packed.filename)],
      { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    red = await startNodeRed({ userDir, linkPackage: false });
    const running = red;
    const sets = await waitFor('the package to be loaded', async () => {
      const s = await packageNodeSets(running);
      return s.length > 0 && s;
    });
    const types = sets.flatMap((s) => s.types).sort();
    assert.deepEqual(types, Object.keys(pkg['node-red'].nodes).sort());
    for (const s of sets) {
      assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
      assert.ok(s.enabled && s.types.length > 0, `${s.name} is enabled and has its type`);
    }
    assert.doesNotMatch(running.log(), /\[error\]/);

    // The root exports, as a program that installed the package sees them.
    const api = execFileSync(process.execPath, ['-e', `
      const m = require(${JSON.stringify(pkg.name)});
      const nodes = ${JSON.stringify(Object.values(pkg['node-red'].nodes))}.map((f) => typeof require(require('path').join(require.resolve(${JSON.stringify(pkg.name + '/package.json')}), '..', f)));
      console.log(JSON.stringify({ redactImage: typeof m.redactImage, RedactionEngine: typeof m.RedactionEngine, Sam3Engine: typeof m.Sam3Engine, rleToBoxMask: typeof m.rleToBoxMask, nodes }));
    `], { cwd: userDir, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(api), {
      redactImage: 'function', RedactionEngine: 'function', Sam3Engine: 'function', rleToBoxMask: 'function',
      nodes: Object.values(pkg['node-red'].nodes).map(() => 'function'),
    });
    const declarations = readFileSync(path.join(userDir, 'node_modules', pkg.name, 'dist', 'src', 'index.d.ts'), 'utf8');
    assert.match(declarations, /redactImage/, 'redactImage has its types');
    assert.match(declarations, /from '\.\/engine'/, 'the engine has its types');
  });
});
