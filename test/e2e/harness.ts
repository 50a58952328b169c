/**
 * What the end-to-end suites share: a real Node-RED started as a child
 * process (like `npm start`, but in a temporary user dir on a free port of
 * 127.0.0.1), Debian's Chromium driven by playwright-core, and the lists of
 * nodes and example flows this package declares, read from package.json and
 * examples/ so that a new node or example is covered without editing a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';

export const root = path.resolve(__dirname, '..', '..', '..');
export const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  name: string;
  files: string[];
  dependencies: Record<string, string>;
  'node-red': { version: string; nodes: Record<string, string> };
};

/** Every example flow in examples/ (Node-RED lists each .json there under Import > Examples). */
export function exampleFlows(): Array<{ name: string; file: string; flow: Array<Record<string, unknown> & { id: string; type: string }> }> {
  const dir = path.join(root, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), file: path.join(dir, f), flow: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Array<Record<string, unknown> & { id: string; type: string }> }));
}

/** Where screenshots and logs of a run go (ignored by git). E2E_ARTIFACTS overrides. */
export const artifacts = path.resolve(process.env.E2E_ARTIFACTS || path.join(root, 'dist', 'e2e-artifacts'));

// ---------------------------------------------------------------- Chromium

/** Debian's chromium (never a browser downloaded by a tool); E2E_CHROMIUM overrides. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.E2E_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  return candidates.find((p) => existsSync(p));
}

/**
 * Why the browser suite cannot run here, or undefined when it can. Outside CI
 * a missing chromium skips the suite with this reason; in CI (CI=true) it is
 * a failure, so a broken CI image never passes silently.
 */
export function browserSkipReason(): string | undefined {
  if (chromiumPath()) return undefined;
  const why = 'Debian chromium not found at /usr/bin/chromium (apt-get install -y chromium, or set E2E_CHROMIUM)';
  if (process.env.CI && process.env.CI !== 'false') throw new Error(`${why}: required in CI`);
  return why;
}

export async function launchChromium(): Promise<Browser> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// ---------------------------------------------------------------- Node-RED

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface NodeRed {
  url: string;
  userDir: string;
  /** Everything the Node-RED process printed so far. */
  log(): string;
  /** GET on the admin API, as JSON. */
  get<T = unknown>(route: string): Promise<T>;
  stop(): Promise<void>;
}

export interface StartOptions {
  userDir: string;
  env?: Record<string, string>;
  /** Link this checkout into <userDir>/node_modules (as `npm start` does). Default true. */
  linkPackage?: boolean;
  /** The Node-RED runtime's red.js; default the one this project depends on. */
  redJs?: string;
  /** The node binary to run it with; default this process's. */
  nodeBin?: string;
  nodeArgs?: string[];
  /** More settings.js entries (JSON values), e.g. adminAuth. */
  settings?: Record<string, unknown>;
}

/** Starts Node-RED on a free port of 127.0.0.1 and resolves once its admin API answers. */
export async function startNodeRed(opts: StartOptions): Promise<NodeRed> {
  const { userDir } = opts;
  mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  if (opts.linkPackage !== false) {
    const link = path.join(userDir, 'node_modules', pkg.name);
    mkdirSync(path.dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync(root, link, 'dir');
  }
  const port = await freePort();
  const settings = path.join(userDir, 'settings.js');
  writeFileSync(
    settings,
    `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: false,
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false, ui: false },
  editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
  logging: { console: { level: 'info', metrics: false, audit: false } },
${Object.entries(opts.settings ?? {}).map(([k, v]) => `  ${k}: ${JSON.stringify(v)},`).join('\n')}
};
`,
  );
  const child: ChildProcess = spawn(opts.nodeBin || process.execPath, [...(opts.nodeArgs || []), opts.redJs || require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settings], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/`;
  const get = async <T>(route: string): Promise<T> => {
    const res = await fetch(url + route.replace(/^\//, ''), { headers: { Accept: 'application/json', 'Node-RED-API-Version': 'v2' } });
    if (!res.ok) throw new Error(`GET ${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited with ${child.exitCode} before it answered:\n${output}`);
    // "Started flows" comes after the nodes are registered and the admin API is up.
    if (/Started flows|Stopped flows|Flows file .* not found|Creating new flow file/i.test(output) || /Server now running/.test(output)) {
      // With adminAuth the admin API answers 401 to a caller without a token: it is up all the same.
      const status = await fetch(url + 'settings').then((r) => r.status, () => 0);
      if (status === 200 || status === 401) break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Node-RED did not answer on ${url} within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    userDir,
    log: () => output,
    get,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One node set of GET /nodes. */
export interface NodeSet {
  id: string;
  name: string;
  module: string;
  types: string[];
  enabled: boolean;
  loaded: boolean;
  err?: string;
  version?: string;
}

/** This package's node sets as the running Node-RED reports them. */
export async function packageNodeSets(red: NodeRed): Promise<NodeSet[]> {
  const sets = await red.get<NodeSet[]>('nodes');
  return sets.filter((s) => s.module === pkg.name);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000, every = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
