#!/usr/bin/env node
// `npm start`: Node-RED with this package loaded, in a project-local user dir
// (.node-red-user, ignored by git), listening on 127.0.0.1 only, with the
// example flow deployed on first start.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const userDir = path.resolve(process.env.NODE_RED_USER_DIR || path.join(root, '.node-red-user'));
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 1880);

fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
// Node-RED loads node packages found in <userDir>/node_modules: link this checkout there.
const link = path.join(userDir, 'node_modules', pkg.name);
fs.mkdirSync(path.dirname(link), { recursive: true });
if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');

const settings = path.join(userDir, 'settings.js');
if (!fs.existsSync(settings)) {
  fs.writeFileSync(
    settings,
    `module.exports = {
  uiHost: process.env.HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  flowFile: 'flows.json',
  // Where sam3-model looks when its folder field is blank and SAM3_MODEL_DIR is unset.
  sam3ModelDir: require('path').join(__dirname, 'models', 'sam3'),
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
`,
  );
}
const flows = path.join(userDir, 'flows.json');
if (!fs.existsSync(flows)) fs.copyFileSync(path.join(root, 'examples', 'image-redaction.json'), flows);

const modelDir = process.env.SAM3_MODEL_DIR || path.join(userDir, 'models', 'sam3');
console.log(`Node-RED editor: http://${host}:${port}/`);
console.log(`User dir:        ${userDir}`);
console.log(`SAM 3 model:     ${modelDir}${fs.existsSync(modelDir) ? '' : '  (not there yet: see models/README.md)'}`);

const red = require.resolve('node-red/red.js');
const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', settings], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
