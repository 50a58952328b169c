#!/usr/bin/env node
// `npm run test:node-red-5`: the Node-RED suites again, on Node-RED 5 under
// Node 22 (Node-RED 5 needs Node >= 22.9; this package's own dev dependency
// is Node-RED 4 on the machine's Node). Node-RED 5 is installed into
// .ci-nr5/ (git-ignored) and Node 22 comes from npm's `node` package, so
// nothing outside the project changes.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const prefix = path.join(root, '.ci-nr5');
const runtime = path.join(prefix, 'node_modules', 'node-red');
const run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
};

if (!fs.existsSync(path.join(runtime, 'package.json'))) {
  run('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, 'node-red@5']);
}
const version = JSON.parse(fs.readFileSync(path.join(runtime, 'package.json'), 'utf8')).version;
console.log(`Node-RED ${version} from ${path.relative(root, runtime)}, on Node 22`);
// The suites that run nodes in a Node-RED runtime.
run('npx', ['-y', 'node@22', 'scripts/run-tests.js', 'dist/test/nodes/', 'dist/test/examples/', 'dist/test/text/nodes', 'dist/test/security/'], {
  NODE_RED_RUNTIME: runtime,
});
