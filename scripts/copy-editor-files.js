#!/usr/bin/env node
// Node-RED finds a node's editor file, icons and message catalogue beside its
// runtime .js, so the build places nodes/ (the editor side) next to the
// compiled src/nodes/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'nodes');
const to = path.join(root, 'dist', 'src', 'nodes');
fs.mkdirSync(to, { recursive: true });
fs.cpSync(from, to, { recursive: true });
// The build is complete: `npm start` need not run it again until the sources change.
require('./start-support').recordBuild(root);
