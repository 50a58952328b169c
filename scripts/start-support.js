// What `npm start` decides before it starts Node-RED: whether the build is
// out of date (a full tsc build takes most of a minute on a small machine,
// so it runs only when the sources changed), and the settings of the user
// dir it makes.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** What the runtime is built from: the TypeScript sources, the editor files and the build's own configuration. */
const INPUTS = ['src', 'nodes', 'tsconfig.json', 'package.json', path.join('scripts', 'copy-editor-files.js')];
const STAMP = path.join('dist', '.build-inputs');
const BUILT = path.join('dist', 'src', 'index.js');

function filesUnder(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return [];
  }
  if (!st.isDirectory()) return [p];
  return fs.readdirSync(p).sort().flatMap((name) => filesUnder(path.join(p, name)));
}

/** A fingerprint of the inputs: every file's path, size and modification time. */
function inputsFingerprint(root) {
  const hash = crypto.createHash('sha256');
  for (const input of INPUTS) {
    for (const file of filesUnder(path.join(root, input))) {
      const st = fs.statSync(file);
      hash.update(`${path.relative(root, file)}\0${st.size}\0${st.mtimeMs}\n`);
    }
  }
  return hash.digest('hex');
}

/** Whether dist/ is missing or was built from other sources than those there now. */
function needsBuild(root) {
  if (!fs.existsSync(path.join(root, BUILT))) return true;
  try {
    return fs.readFileSync(path.join(root, STAMP), 'utf8').trim() !== inputsFingerprint(root);
  } catch {
    return true;
  }
}

/** Called at the end of every build: dist/ now matches the sources. */
function recordBuild(root) {
  fs.writeFileSync(path.join(root, STAMP), `${inputsFingerprint(root)}\n`);
}

const MARKER = '// Written by `npm start`';

/**
 * The user dir's settings: loopback only, the model folder inside the user
 * dir, and no welcome tour or update dialog (offline there is nothing to
 * check, and both cover the flow on a first visit).
 */
function settingsText() {
  return `${MARKER} (this project's scripts/start-support.js); it rewrites this file while this line is here.
// Delete the line to keep your own changes.
module.exports = {
  uiHost: process.env.HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  flowFile: 'flows.json',
  // Where sam3-model looks when its folder field is blank and SAM3_MODEL_DIR is unset.
  sam3ModelDir: require('path').join(__dirname, 'models', 'sam3'),
  // No consent dialog and no update check: they cover the flow on a first visit.
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { tours: false },
  logging: { console: { level: 'info', metrics: false, audit: false } },
};
`;
}

/** The settings an earlier version of \`npm start\` wrote (without the marker): upgraded like marked ones. */
const EARLIER = /^module\.exports = \{\n  uiHost: process\.env\.HOST \|\| '127\.0\.0\.1',\n[\s\S]*Where sam3-model looks when its folder field is blank[\s\S]*\};\n$/;

/** Writes the settings unless the user has made the file their own; returns whether it wrote. */
function ensureSettings(file) {
  let current;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  const wanted = settingsText();
  const ours = current === undefined || current.startsWith(MARKER) || (EARLIER.test(current) && !current.includes('telemetry'));
  if (!ours || current === wanted) return false;
  fs.writeFileSync(file, wanted);
  return true;
}

module.exports = { needsBuild, recordBuild, inputsFingerprint, settingsText, ensureSettings };
