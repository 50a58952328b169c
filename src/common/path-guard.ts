/**
 * Confinement of paths that arrive in messages. A flow fed from MQTT or HTTP
 * takes paths from outside; with allowed roots set, a path is used only if,
 * with every symbolic link resolved, it lies inside one of them, so neither
 * `..` nor a link can reach the rest of the disk.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export class PathNotAllowedError extends Error {
  readonly code = 'PATH_NOT_ALLOWED';
  constructor(what: string, p: string, roots: string[]) {
    super(`${what} ${p} is outside the allowed folders (${roots.join(', ')}); see redactAllowedRoots in settings.js`);
    this.name = 'PathNotAllowedError';
  }
}

/** Allowed roots from settings.js (`redactAllowedRoots`) or REDACT_ALLOWED_ROOTS (path-delimiter separated). Empty: no confinement. */
export function allowedRoots(setting: unknown, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = Array.isArray(setting) ? setting : typeof setting === 'string' ? [setting] : (env.REDACT_ALLOWED_ROOTS ?? '').split(path.delimiter);
  return list.filter((r): r is string => typeof r === 'string' && r.trim() !== '').map((r) => path.resolve(r.trim()));
}

const inside = (p: string, root: string): boolean => {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * The real path of `p`, or of its nearest existing parent joined with the
 * rest (for outputs not yet written). A link whose target does not exist yet
 * counts as its target: written through, it would create the file there.
 */
async function realish(p: string, links = 0): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    if (parent === abs) return abs;
    const realParent = await realish(parent, links);
    const target = await fs.readlink(abs).catch(() => undefined);
    if (target === undefined) return path.join(realParent, path.basename(abs));
    if (links >= 40) throw new Error(`${p}: too many levels of symbolic links`);
    return realish(path.resolve(realParent, target), links + 1);
  }
}

/** Resolves `p` and checks it against the roots; returns the resolved path to use. */
export async function confinePath(what: string, p: string, roots: string[]): Promise<string> {
  if (roots.length === 0) return path.resolve(p);
  const real = await realish(p);
  const realRoots = await Promise.all(roots.map(realish));
  if (!realRoots.some((r) => inside(real, r))) throw new PathNotAllowedError(what, p, roots);
  return real;
}
