#!/usr/bin/env node
// `npm start`: Node-RED with this package loaded, in a project-local user dir
// (.node-red-user, ignored by git), listening on 127.0.0.1 only, with the
// example flow deployed on first start; built first only when the sources
// changed since the last build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { ensureSettings, needsBuild } = require('./start-support');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const userDir = path.resolve(process.env.NODE_RED_USER_DIR || path.join(root, '.node-red-user'));
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 1880);

if (needsBuild(root)) {
  console.log('Building: the sources changed since the last build (or there is none yet)...');
  const built = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (built.status !== 0) process.exit(built.status ?? 1);
} else {
  console.log('The build is up to date with the sources: not rebuilding.');
}

fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
// Node-RED loads node packages found in <userDir>/node_modules: link this checkout there.
const link = path.join(userDir, 'node_modules', pkg.name);
fs.mkdirSync(path.dirname(link), { recursive: true });
if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');

const settings = path.join(userDir, 'settings.js');
ensureSettings(settings);
// The watched-folder flow, deployed on the first start (a flow the user changed since is kept).
const flows = path.join(userDir, 'flows.json');
if (!fs.existsSync(flows)) fs.copyFileSync(path.join(root, 'examples', 'watched-folder-redaction.json'), flows);

const modelDir = process.env.SAM3_MODEL_DIR || path.join(userDir, 'models', 'sam3');
const watchDir = path.resolve(process.env.REDACT_WATCH_DIR || path.join(userDir, 'redact', 'incoming'));
const outputDir = path.resolve(process.env.REDACT_OUTPUT_DIR || path.join(userDir, 'redact', 'redacted'));
fs.mkdirSync(watchDir, { recursive: true });
fs.mkdirSync(outputDir, { recursive: true });
const hasModel = fs.existsSync(modelDir);
console.log(`Node-RED editor: http://${host}:${port}/`);
console.log(`User dir:        ${userDir}`);
console.log(`Watching:        ${watchDir}  (drop photos and videos here)`);
console.log(`Redacted copies: ${outputDir}  (originals go to done/ or failed/ in the watched folder)`);
console.log(`SAM 3 model:     ${modelDir}${hasModel ? '' : '  (not there yet: faces, plates and text are still redacted by the bundled detectors; for any other phrase see models/README.md)'}`);
console.log(`Prompts:         ${process.env.REDACT_PROMPTS || (hasModel ? 'face, license plate, text (the bundled detectors, and SAM 3 too on photos)' : 'face, license plate, text (the bundled detectors; no SAM 3 model)')}`);

const red = require.resolve('node-red/red.js');
const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', settings], {
  stdio: 'inherit',
  env: { ...process.env, REDACT_WATCH_DIR: watchDir, REDACT_OUTPUT_DIR: outputDir },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
