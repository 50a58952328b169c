#!/usr/bin/env node
// The layering of src/ (docs/development.md, Layout), checked from the
// source, type imports included:
//   - no import cycles;
//   - redact, video, watch, models, review and common import nothing from src/nodes,
//     and nothing of the engine but its public surface (src/engine/index.ts);
//   - the engine imports nothing from src/nodes;
//   - only src/nodes imports node-red.
// Exits 1 with every violation listed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');

function collect(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return collect(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

// import/export ... from '...', import '...', import('...'), require('...'), import x = require('...')
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

function specifiers(file) {
  // Comments out, so that an example in a comment is not an import.
  const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...text.matchAll(SPECIFIERS)].map((m) => m[2]);
}

function resolve(from, spec) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return null;
}

const rel = (p) => path.relative(root, p);
const layerOf = (file) => path.relative(src, file).split(path.sep)[0];
const ENGINE_SURFACE = path.join(src, 'engine', 'index.ts');
const LOWER = new Set(['redact', 'video', 'watch', 'models', 'common', 'review']);

const files = collect(src);
const graph = new Map();
const problems = [];
for (const file of files) {
  const edges = [];
  for (const spec of specifiers(file)) {
    const layer = layerOf(file);
    if ((spec === 'node-red' || spec.startsWith('@node-red/')) && layer !== 'nodes') {
      problems.push(`${rel(file)} imports ${spec}: only src/nodes may import node-red`);
    }
    const target = resolve(file, spec);
    if (!target) continue;
    edges.push(target);
    const to = layerOf(target);
    if (to === 'nodes' && layer !== 'nodes') problems.push(`${rel(file)} imports ${rel(target)}: nothing outside src/nodes imports the Node-RED glue`);
    if (LOWER.has(layer) && to === 'engine' && target !== ENGINE_SURFACE) {
      problems.push(`${rel(file)} imports ${rel(target)}: ${layer} may use the engine only through src/engine/index.ts`);
    }
  }
  graph.set(file, edges);
}

// Tarjan's strongly connected components: each component of more than one
// module (or a module importing itself) is a cycle.
let index = 0;
const indexOf = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function visit(v) {
  indexOf.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!indexOf.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indexOf.get(w)));
  }
  if (low.get(v) === indexOf.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) {
      problems.push(`import cycle: ${component.map(rel).sort().join(' <-> ')}`);
    }
  }
}
for (const file of files) if (!indexOf.has(file)) visit(file);

if (problems.length) {
  console.error(`check-imports: ${problems.length} problem(s) in src/:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} modules, no cycles, layers kept`);
