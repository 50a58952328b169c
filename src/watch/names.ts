/**
 * Names of what a claim produces (the redacted output, the original in done/
 * or failed/), decided once so that different inputs never share one and
 * nothing is ever written over another file.
 *
 * A name must leave room for its sidecar (`.audit.json`, `.error.txt`)
 * within the 255 bytes a file name may have: a longer one keeps its
 * extension, loses the end of its stem, and gets a short hash of the whole
 * name so that two long names that start alike stay apart. A name already
 * taken, on disk or by another claim, gets ` (2)`, ` (3)`, ... before its
 * extension.
 *
 * Claims of other instances watching the same folder are seen through
 * reservations: one empty file per name, created exclusively (O_EXCL) in the
 * processing area, so of two instances that want the same name at the same
 * moment exactly one gets it.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const NAME_MAX = 255;
export const AUDIT_SUFFIX = '.audit.json';
export const ERROR_SUFFIX = '.error.txt';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The longest start of `s` (whole characters) that fits in `max` bytes. */
function cutToBytes(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (bytes(out) + bytes(ch) > max) break;
    out += ch;
  }
  return out;
}

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * `name` (a file name, no folder) with ` (n)` added for n > 1, shortened
 * where needed so that it plus `roomFor` bytes fits in a file name.
 */
export function variant(name: string, n: number, roomFor = 0): string {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  const tag = n > 1 ? ` (${n})` : '';
  const max = NAME_MAX - roomFor;
  if (bytes(stem) + bytes(tag) + bytes(ext) <= max) return `${stem}${tag}${ext}`;
  // Keep the extension (players and viewers go by it) unless it alone is absurdly long.
  const keepExt = bytes(ext) <= 16 ? ext : '';
  const hashed = `~${shortHash(name)}`;
  return `${cutToBytes(stem, max - bytes(hashed) - bytes(tag) - bytes(keepExt))}${hashed}${tag}${keepExt}`;
}

/** A relative path's last part replaced by `variant(...)`. */
export function variantOf(relative: string, n: number, roomFor = 0): string {
  return path.join(path.dirname(relative), variant(path.basename(relative), n, roomFor));
}

const exists = (p: string): Promise<boolean> => fs.lstat(p).then(() => true, () => false);

export class NameReservations {
  constructor(private readonly dir: string) {}

  /** Case is folded: on the case-insensitive disks of macOS and Windows shares, X.mp4 and x.mp4 are one file. */
  private keyOf(file: string): string {
    return createHash('sha256').update(path.resolve(file).toLowerCase()).digest('hex').slice(0, 32);
  }

  private async reserve(file: string): Promise<string | undefined> {
    const key = this.keyOf(file);
    for (let tries = 0; ; tries++) {
      try {
        await fs.mkdir(this.dir, { recursive: true });
        await (await fs.open(path.join(this.dir, key), 'wx')).close();
        return key;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return undefined;
        // Another claim removed the folder as empty meanwhile (see release).
        if (code !== 'ENOENT' || tries > 5) throw err;
      }
    }
  }

  /**
   * The first variant of `relative` under `folder` that is free (nor any of
   * `sidecars` beside it) and could be reserved; its reservation key.
   */
  async choose(folder: string, relative: string, sidecars: string[] = []): Promise<{ relative: string; key: string }> {
    const room = Math.max(0, ...sidecars.map(bytes));
    for (let n = 1; n < 10_000; n++) {
      const candidate = variantOf(relative, n, room);
      const file = path.join(folder, candidate);
      if ((await exists(file)) || (await Promise.all(sidecars.map((s) => exists(file + s)))).some(Boolean)) continue;
      const key = await this.reserve(file);
      if (key) return { relative: candidate, key };
    }
    throw new Error(`no free name for ${relative} in ${folder}`);
  }

  async release(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await Promise.all(keys.map((k) => fs.rm(path.join(this.dir, k), { force: true })));
    // An idle watched folder is left as it was found; a folder another claim still uses stays.
    await fs.rmdir(this.dir).catch(() => undefined);
  }

  /** Reservations no claim record lists and older than `ageMs`: left by a crash between reserving and recording. */
  async removeOrphans(listed: ReadonlySet<string>, ageMs: number, now = Date.now()): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (listed.has(name)) continue;
      const st = await fs.stat(path.join(this.dir, name)).catch(() => undefined);
      if (st && now - st.mtimeMs > ageMs) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }
}
