#!/usr/bin/env node
// Runs the compiled *.test.js under dist/test with node's own test runner, in
// two tiers:
//   fast:   units and node tests (test/<layer>, test/nodes), two files at a time:
//           the edit-test loop (`npm run test:fast`);
//   system: the suites that start real processes, fill disks or push load
//           (test/security, test/scale, test/examples, test/models/live-pickup),
//           one file at a time (`npm run test:system`).
// `npm test` runs both, fast first. Arguments other than --tier keep only the
// files whose path contains one of them. The file list is built here because
// `node --test <dir>` means different things on Node 20 and Node 22.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', 'dist', 'test');
const SYSTEM = [/^security\//, /^scale\//, /^examples\//, /^models\/live-pickup\./];
const args = process.argv.slice(2);
const tierAt = args.indexOf('--tier');
const tier = tierAt >= 0 ? args[tierAt + 1] : 'all';
if (!['fast', 'system', 'all'].includes(tier)) {
  console.error(`--tier must be fast, system or all, got ${tier}`);
  process.exit(2);
}
const only = tierAt < 0 ? args : args.filter((_, i) => i !== tierAt && i !== tierAt + 1);
function collect(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return collect(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}
let files = collect(root).sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
const isSystem = (f) => SYSTEM.some((re) => re.test(path.relative(root, f).split(path.sep).join('/')));
const tiers = [
  { name: 'fast', files: files.filter((f) => !isSystem(f)), concurrency: 2 },
  { name: 'system', files: files.filter(isSystem), concurrency: 1 },
].filter((t) => (tier === 'all' || t.name === tier) && t.files.length > 0);
if (tiers.length === 0) {
  console.error('no test files found under', root);
  process.exit(1);
}
let status = 0;
for (const t of tiers) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${t.concurrency}`, ...t.files], { stdio: 'inherit' });
  console.log(`# tier ${t.name}: ${t.files.length} files, ${Math.round((Date.now() - started) / 1000)} s, exit ${r.status}`);
  if (r.status !== 0) status = r.status === null ? 1 : r.status;
}
process.exit(status);
