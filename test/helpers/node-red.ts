/**
 * A typed face for node-red-node-test-helper, which ships no types, plus the
 * few things every node test needs: the runtime started once, flows unloaded
 * between tests, and waiting for a message or an error.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before } from 'node:test';
import type { EventEmitter } from 'node:events';

export type FlowNode = Record<string, unknown> & { id: string; type: string };
export type TestNode = EventEmitter & { id: string; receive(msg: object): void };
type NodeModule = (RED: unknown) => void;

interface Helper {
  init(runtimePath: string, settings?: object): void;
  settings(settings: object): void;
  startServer(done: () => void): void;
  stopServer(done: () => void): void;
  load(nodes: NodeModule | NodeModule[], flow: FlowNode[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  /** A deploy while flows run ('full' stops and restarts every node, as the editor's Deploy does). */
  setFlows(flow: FlowNode[], type?: 'full' | 'flows' | 'nodes'): Promise<void>;
  getNode(id: string): TestNode;
  /** The runtime's log calls since the last load (a sinon spy on RED.log.log). */
  log(): { getCalls(): Array<{ args: unknown[] }> };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as Helper;
/**
 * The Node-RED under test: this package's own dev dependency, or another
 * install named by NODE_RED_RUNTIME (a node-red folder), so that the same
 * node tests run on Node-RED 5 as well (see .ci/run).
 */
const runtimeDir = process.env.NODE_RED_RUNTIME ? path.resolve(process.env.NODE_RED_RUNTIME) : path.dirname(require.resolve('node-red/package.json'));
helper.init(require.resolve(runtimeDir));

const dist = path.resolve(__dirname, '..', '..', 'src', 'nodes');
const locales = path.resolve(__dirname, '..', '..', '..', 'nodes', 'locales', 'en-US');

/**
 * RED._ as Node-RED does it for this package's own keys (the helper's is the
 * identity): the en-US catalog's text with __name__ filled in, so tests read
 * what a user reads. Other keys come back as they are.
 */
function translate(namespace: string, key: string, params: Record<string, unknown> = {}): string {
  const [file, ...rest] = key.split('.');
  // Node-RED looks a node's keys up in that node's own catalog only.
  if (file !== namespace) return key;
  let node: unknown;
  try {
    node = (JSON.parse(readFileSync(path.join(locales, `${file}.json`), 'utf8')) as Record<string, unknown>)[file];
  } catch {
    return key;
  }
  for (const part of rest) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return typeof node === 'string' ? node.replace(/__(\w+?)__/g, (m, name: string) => (name in params ? String(params[name]) : m)) : key;
}

/** The compiled node modules, as Node-RED would load them (with this package's messages). */
export function nodeModule(name: string): NodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED loads node files with require(), so do the tests
  const mod = require(path.join(dist, `${name}.js`)) as NodeModule;
  const _ = (key: string, params?: Record<string, unknown>): string => translate(name, key, params);
  return (RED: unknown) => mod(new Proxy(RED as object, { get: (target, prop, receiver): unknown => (prop === '_' ? _ : Reflect.get(target, prop, receiver)) }));
}
export function coreNode(file: string): NodeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's own node files, as it loads them
  return require(path.join(path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [runtimeDir] })), 'core', file)) as NodeModule;
}

/**
 * Clears what the helper's sinon spies recorded (every log call with its call
 * stack, every send with its message): they keep whatever those calls saw
 * alive, which a memory measurement must not count. Node-RED has no spies.
 */
export function forgetSpiedCalls(): void {
  type Spy = { resetHistory?: () => void };
  const h = helper as unknown as { _logSpy?: Spy; _sandbox: Spy; _NodePrototype?: Record<string, unknown> };
  h._sandbox.resetHistory?.();
  // After unload the sandbox no longer lists them, but the helper still holds the log spy.
  h._logSpy?.resetHistory?.();
  for (const v of Object.values(h._NodePrototype ?? {})) (v as Spy | undefined)?.resetHistory?.();
}

/** Starts the helper's runtime for this test file and unloads flows after each test. */
export function useNodeRed(): void {
  before(() => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(() => helper.unload());
  after(() => new Promise<void>((resolve) => helper.stopServer(resolve)));
}

/** The next `input` message a helper node receives (rejects after `ms`). */
export function nextMessage<T = Record<string, unknown>>(node: TestNode, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message reached ${node.id} within ${ms} ms`)), ms);
    node.once('input', (msg: T) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Collects `count` messages arriving at a helper node. */
export function collect<T = Record<string, unknown>>(node: TestNode, count: number, ms = 60_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} messages reached ${node.id}`)), ms);
    node.on('input', (msg: T) => {
      got.push(msg);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** Resolves with the next status a node shows whose text matches. */
export function statusMatching(node: TestNode, pattern: RegExp, ms = 20_000): Promise<{ fill?: string; text?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node.id} never showed a status matching ${pattern}`)), ms);
    const listener = (call: { args: Array<{ fill?: string; text?: string }> }): void => {
      const s = call.args[0];
      if (s && typeof s.text === 'string' && pattern.test(s.text)) {
        clearTimeout(timer);
        node.off('call:status', listener);
        resolve(s);
      }
    };
    node.on('call:status', listener);
  });
}
