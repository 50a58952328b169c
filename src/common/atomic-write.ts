/**
 * Files that appear only complete: written under a hidden temporary name in
 * the destination folder, flushed, then renamed over the destination (an
 * atomic replace on one filesystem). Readers never see a partial file, and
 * writing the same output twice replaces it instead of adding a copy.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
}

export async function writeFileAtomic(target: string, data: Buffer | string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempNameFor(target);
  try {
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
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
    await fs.copyFile(from, temp);
    await fs.rename(temp, to);
    await fs.rm(from, { force: true });
  }
}
