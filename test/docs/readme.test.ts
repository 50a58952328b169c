/**
 * What a newcomer reads first has to be true: README's default prompts are
 * the code's, its examples table names every environment variable each flow
 * reads with the default the flow really falls back to, every relative link
 * in README and docs/ leads somewhere, and README stays short enough to read.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_PROMPTS_BUNDLED } from '../../src/nodes/lib/shared-engine';

const root = path.resolve(__dirname, '..', '..', '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');
const readme = read('README.md');

/** Every .ts file under src/, with its text. */
function sources(dir = path.join(root, 'src')): Array<{ file: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [{ file: p, text: readFileSync(p, 'utf8') }] : [];
  });
}

/** The environment variables a flow reads: in expressions, in ${VAR} fields, and through the nodes it uses with blank fields. */
function variablesOf(flow: Array<Record<string, unknown>>): Set<string> {
  const text = JSON.stringify(flow);
  const vars = new Set<string>();
  for (const m of text.matchAll(/\$env\(\\?'([A-Z0-9_]+)\\?'\)|\$\{([A-Z0-9_]+)\}/g)) vars.add(m[1] ?? m[2]);
  vars.delete('HOME');
  for (const n of flow) {
    if (n.type === 'watch-folder' && !n.folder) vars.add('REDACT_WATCH_DIR');
    if (n.type === 'watch-folder' && !n.outputDir) vars.add('REDACT_OUTPUT_DIR');
    if (n.type === 'sam3-model' && !n.modelDir) vars.add('SAM3_MODEL_DIR');
  }
  return vars;
}

/** Whether the flow, or the code behind its nodes, falls back to `value` when `name` is unset. */
function fallsBackTo(flow: Array<Record<string, unknown>>, name: string, value: string): boolean {
  const strings = JSON.stringify(flow).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
  const inFlow = strings.map((s) => JSON.parse(s) as string).filter((s) => s.includes(`$env('${name}')`));
  if (value.startsWith('~/')) return inFlow.some((s) => s.includes(`$env('HOME') & '/${value.slice(2)}'`));
  if (value.startsWith('/')) return inFlow.some((s) => s.includes(`'${value}'`));
  if (value.startsWith('<userDir>/')) {
    const join = `path.join(userDir, ${value.slice('<userDir>/'.length).split('/').map((p) => `'${p}'`).join(', ')})`;
    return sources().some((s) => s.text.includes(name) && s.text.includes(join));
  }
  if (name === 'REDACT_PROMPTS') return value === DEFAULT_PROMPTS_BUNDLED && inFlow.length > 0;
  return false;
}

/** The slug GitHub gives a heading. */
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

describe('README and docs/', () => {
  test('README is under 250 lines', () => {
    const lines = readme.split('\n').length;
    assert.ok(lines < 250, `README has ${lines} lines`);
  });

  test("README's default prompts are the code's", () => {
    const said = [...readme.matchAll(/left empty, `([^`]+)`/g)].map((m) => m[1]);
    assert.ok(said.length >= 1, 'README says what empty prompts mean');
    for (const s of said) assert.equal(s, DEFAULT_PROMPTS_BUNDLED);
  });

  test('the examples table names every variable each flow reads, with the default the flow really uses', () => {
    const rows = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `([\w-]+\.json)` \|[^|]*\| (.*) \|$/gm)) rows.set(m[1], m[2]);
    const flows = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json'));
    assert.deepEqual([...rows.keys()].sort(), flows.sort(), 'one row per example flow');
    for (const [file, cell] of rows) {
      const flow = JSON.parse(read(path.join('examples', file))) as Array<Record<string, unknown>>;
      const named = [...cell.matchAll(/`([A-Z0-9_]+)` \(([^)]*)\)/g)];
      assert.deepEqual(new Set(named.map((m) => m[1])), variablesOf(flow), `${file}: the variables it reads`);
      for (const [, name, def] of named) {
        const value = /^`([^`]+)`$/.exec(def)?.[1];
        if (value === undefined) {
          assert.match(def, /^none/, `${file}: ${name}'s default is a value in backticks, or none`);
          continue;
        }
        assert.ok(fallsBackTo(flow, name, value), `${file}: unset ${name} falls back to ${value}`);
      }
    }
  });

  test('every relative link in README, docs/ and models/README.md resolves', () => {
    const docs = ['README.md', 'SECURITY.md', 'models/README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const doc of docs) {
      const text = read(doc).replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1];
        if (/^[a-z]+:/.test(link)) continue;
        const [file, anchor] = link.split('#');
        const target = file ? path.join(path.dirname(doc), file) : doc;
        if (!existsSync(path.join(root, target))) {
          broken.push(`${doc}: ${link}`);
          continue;
        }
        if (anchor && target.endsWith('.md')) {
          const headings = read(target).split('\n').filter((l) => /^#+ /.test(l)).map((l) => slug(l.replace(/^#+ /, '')));
          if (!headings.includes(anchor)) broken.push(`${doc}: ${link} (no such heading)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });
});
