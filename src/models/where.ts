/**
 * Which model folder the `sam3-model` command works on when none is given,
 * and why: the folder the Node-RED that will load the model looks in. The
 * sam3-model node resolves its folder with resolveModelDir (model-dir.ts);
 * this finds the user directory that node runs with.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveModelDir } from './model-dir';

export const PACKAGE_NAME = '@sam3-redact/node-red-sam3-redact';

export interface ModelDirChoice {
  dir: string;
  /** Why this folder, in words for the command's output. */
  why: string;
}

function packageName(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

function* upwards(from: string): Generator<string> {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    yield dir;
    if (path.dirname(dir) === dir) return;
  }
}

const isUserDir = (dir: string): boolean => ['settings.js', '.config.nodes.json', '.config.runtime.json'].some((f) => existsSync(path.join(dir, f)));

/**
 * SAM3_MODEL_DIR when set; inside this project's checkout, the folder its
 * `npm start` Node-RED uses (`.node-red-user/models/sam3`, or under
 * NODE_RED_USER_DIR); inside a Node-RED user directory, or run from a copy of
 * the package installed in one, `<userDir>/models/sam3`; else
 * `~/.node-red/models/sam3`.
 */
export function locateModelDir(cwd: string, env: NodeJS.ProcessEnv, packageRoot = path.resolve(__dirname, '..', '..', '..')): ModelDirChoice {
  if (env.SAM3_MODEL_DIR?.trim()) return { dir: resolveModelDir({ env }), why: 'SAM3_MODEL_DIR is set' };
  for (const dir of upwards(cwd)) {
    if (packageName(dir) === PACKAGE_NAME && existsSync(path.join(dir, 'scripts', 'start.js'))) {
      const userDir = path.resolve(env.NODE_RED_USER_DIR || path.join(dir, '.node-red-user'));
      return { dir: resolveModelDir({ env, userDir }), why: `inside this project's checkout: the folder its \`npm start\` Node-RED uses (user dir ${userDir})` };
    }
    if (isUserDir(dir)) return { dir: resolveModelDir({ env, userDir: dir }), why: `inside the Node-RED user directory ${dir}` };
  }
  // Run from an installed copy: <userDir>/node_modules/@sam3-redact/node-red-sam3-redact.
  const parts = packageRoot.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at > 0 && parts.slice(at + 1).join('/') === PACKAGE_NAME) {
    const userDir = parts.slice(0, at).join(path.sep) || path.sep;
    return { dir: resolveModelDir({ env, userDir }), why: `the Node-RED user directory this package is installed in (${userDir})` };
  }
  return { dir: path.join(os.homedir(), '.node-red', 'models', 'sam3'), why: "the default Node-RED user directory (~/.node-red); run the command from your Node-RED user directory, or set SAM3_MODEL_DIR, if Node-RED uses another" };
}
