/**
 * Puts a finished download in place with renames only, so that the model
 * folder is at every moment either absent, the old model, or the whole new
 * one: never a half-written folder the engine could pick up.
 */
import { promises as fs } from 'node:fs';
import { FetchError } from './source';

async function kind(p: string): Promise<'none' | 'empty' | 'full' | 'file'> {
  try {
    const stat = await fs.stat(p);
    if (!stat.isDirectory()) return 'file';
    return (await fs.readdir(p)).length === 0 ? 'empty' : 'full';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw err;
  }
}

/** Whether fetching into `dest` needs --force; asked before downloading, so a refusal costs nothing. */
export async function destinationTaken(dest: string): Promise<boolean> {
  const k = await kind(dest);
  if (k === 'file') throw new FetchError(`${dest} is a file, not a folder`);
  return k === 'full';
}

function busy(err: unknown, dest: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EPERM' || code === 'EBUSY' || code === 'EACCES') {
    return new FetchError(`cannot replace ${dest} (${code}): a running Node-RED may hold the model open; stop it (or the flows using the model) and run again`);
  }
  return err as Error;
}

export interface InstallResult {
  replaced: boolean;
  /** An old folder that could not be removed after the swap, left for the user. */
  leftover?: string;
}

/** Renames `staged` to `dest`; an existing non-empty `dest` is swapped out only with `force`. */
export async function installFolder(staged: string, dest: string, force: boolean): Promise<InstallResult> {
  const k = await kind(dest);
  if (k === 'file') throw new FetchError(`${dest} is a file, not a folder`);
  if (k === 'none' || k === 'empty') {
    if (k === 'empty') await fs.rmdir(dest);
    await fs.rename(staged, dest).catch((err: unknown) => Promise.reject(busy(err, dest)));
    return { replaced: false };
  }
  if (!force) throw new FetchError(`${dest} already exists; pass --force to replace it, or --dest to fetch into another folder`);
  const aside = `${dest}.old-${process.pid}-${Date.now()}`;
  await fs.rename(dest, aside).catch((err: unknown) => Promise.reject(busy(err, dest)));
  try {
    await fs.rename(staged, dest);
  } catch (err) {
    await fs.rename(aside, dest);
    throw busy(err, dest);
  }
  try {
    await fs.rm(aside, { recursive: true, force: true });
    return { replaced: true };
  } catch {
    return { replaced: true, leftover: aside };
  }
}
