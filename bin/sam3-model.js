#!/usr/bin/env node
// `npx sam3-model fetch|verify|info|manifest`: the compiled command lives in dist/.
'use strict';
require('../dist/src/models/cli.js').runCli();
