/**
 * Files that appear only complete: written under a hidden temporary name in
 * the destination folder, flushed, then renamed over the destination (an
 * atomic replace on one filesystem). Readers never see a partial file, and
 * writing the same output twice replaces it instead of adding a copy.
 *
 * Temporary names are short and of bounded length whatever the target is
 * called (a 250-byte file name plus a suffix would not fit the 255 bytes a
 * name may have), and they name their owner, host and process id, so that a
 * later start can tell a crashed process's leftovers from a live one's.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TEMP_PREFIX = '.sam3r-';
const TEMP_SUFFIX = '.partial';
/** Host names are letters, digits, '.' and '-'; anything else is replaced, and the length capped. */
const HOST = (os.hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host').slice(0, 64);
const TEMP_NAME = /^\.sam3r-(.+)-(\d+)-[0-9a-f]{8}\.partial$/;

/** A hidden temporary name in `dir` owned by this process: at most 100 bytes. */
export function tempIn(dir: string): string {
  return path.join(dir, `${TEMP_PREFIX}${HOST}-${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** A hidden temporary name beside `target`, owned by this process. */
export function tempNameFor(target: string): string {
  return tempIn(path.dirname(target));
}

/** The owner of a temporary file of ours, from its name; undefined for any other name. */
export function tempOwner(name: string): { host: string; pid: number } | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? { host: m[1], pid: Number(m[2]) } : undefined;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a temporary file of ours was left by a process of this host that no longer runs. */
export function isStaleTemp(name: string): boolean {
  const owner = tempOwner(name);
  return owner !== undefined && owner.host === HOST && owner.pid !== process.pid && !pidAlive(owner.pid);
}

export interface WriteOptions {
  /** Called just before the temporary file takes the target's name; a throw leaves no file. */
  beforeRename?: () => void;
  /** File mode (default 0o644); 0o600 for what only the Node-RED user may read. */
  mode?: number;
}

/** Writes `data` to a new hidden temporary file in `dir`, flushed to disk; returns its path. */
export async function writeTemp(dir: string, data: Buffer | string, mode = 0o644): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const temp = tempIn(dir);
  try {
    const handle = await fs.open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  return temp;
}

export async function writeFileAtomic(target: string, data: Buffer | string, options: WriteOptions = {}): Promise<void> {
  const temp = await writeTemp(path.dirname(target), data, options.mode);
  try {
    options.beforeRename?.();
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** Moves a file, replacing the destination; across filesystems by copy then unlink. */
export async function moveFile(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const temp = tempNameFor(to);
    try {
      await fs.copyFile(from, temp);
      await fs.rename(temp, to);
    } finally {
      await fs.rm(temp, { force: true });
    }
    await fs.rm(from, { force: true });
  }
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Gives `from` the name `to` only if `to` does not exist yet (EEXIST
 * otherwise), so that a move never destroys another file: a hard link
 * then an unlink on one filesystem, a copy to a temporary name then the same
 * on two. Where the filesystem has no hard links, a check then a rename.
 */
export async function moveNoClobber(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EXDEV') {
      const temp = tempNameFor(to);
      try {
        await fs.copyFile(from, temp);
        await moveNoClobber(temp, to);
      } finally {
        await fs.rm(temp, { force: true });
      }
    } else if (NO_LINKS.has(code)) {
      const taken = await fs.lstat(to).then(() => true, () => false);
      if (taken) throw Object.assign(new Error(`EEXIST: file already exists, move '${from}' -> '${to}'`), { code: 'EEXIST' });
      await fs.rename(from, to);
      return;
    } else {
      throw err;
    }
  }
  await fs.rm(from, { force: true });
}
