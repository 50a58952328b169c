/**
 * The folder a download fills before it becomes the model folder:
 * `<dest>.partial-download`, beside the destination (same disk, so the final
 * rename is atomic) and never where the engine looks. It remembers what it is
 * downloading, so a later run resumes only files that are still the same
 * bytes at the source, and it holds a lock so two runs never fill it at once.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Checksum } from './checksum';
import type { Plan } from './plan';
import { FetchError } from './source';

const STATE = '.sam3-fetch.json';
const LOCK = '.sam3-fetch.lock';
export const PARTIAL = '.partial';

interface StagedFile {
  size?: number;
  checksum?: Checksum;
}

interface State {
  source: string;
  files: Record<string, StagedFile>;
}

export function stagingDirFor(dest: string): string {
  return `${dest}.partial-download`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readState(dir: string): Promise<State | undefined> {
  try {
    const s = JSON.parse(await fs.readFile(path.join(dir, STATE), 'utf8')) as State;
    return typeof s.source === 'string' && typeof s.files === 'object' && s.files !== null ? s : undefined;
  } catch {
    return undefined;
  }
}

const same = (a: StagedFile | undefined, b: StagedFile): boolean =>
  a !== undefined && a.size === b.size && a.checksum?.kind === b.checksum?.kind && a.checksum?.hex === b.checksum?.hex;

/** Staging folders this process is filling: the lock file's pid cannot tell two calls in one process apart. */
const held = new Set<string>();

export class Staging {
  private constructor(readonly dir: string) {}

  /** Creates or takes over the staging folder for `dest`; refuses while another live run holds it. */
  static async open(dest: string): Promise<Staging> {
    const dir = stagingDirFor(dest);
    if (held.has(dir)) throw new FetchError(`another fetch in this process is downloading into ${dir}`);
    held.add(dir);
    try {
      await fs.mkdir(dir, { recursive: true });
      await Staging.lock(path.join(dir, LOCK));
      return new Staging(dir);
    } catch (err) {
      held.delete(dir);
      throw err;
    }
  }

  private static async lock(lock: string): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
        const pid = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
        if (pid > 0 && pid !== process.pid && alive(pid)) {
          throw new FetchError(`another sam3-model fetch (pid ${pid}) is downloading into ${path.dirname(lock)}; wait for it or stop it`);
        }
        await fs.rm(lock, { force: true }); // left by a run that died
      }
    }
  }

  /**
   * Keeps, for the files of `plan`, only what is still valid for `source`: a
   * partial or finished file whose listed size and checksum are unchanged.
   * Everything else in the folder goes, so that the folder installed is
   * exactly the plan.
   */
  async prepare(source: string, plan: Plan): Promise<void> {
    const old = await readState(this.dir);
    const files: Record<string, StagedFile> = {};
    for (const f of plan.files) files[f.name] = { size: f.size, checksum: f.checksum };
    const keep = new Set<string>([STATE, LOCK]);
    for (const [name, now] of Object.entries(files)) {
      // A checksum names the bytes wherever they come from (a branch that moved
      // on keeps its unchanged files); without one, only the same source and
      // size can vouch for old bytes.
      const trusted = same(old?.files[name], now) && (now.checksum !== undefined || (old?.source === source && now.size !== undefined));
      if (trusted) keep.add(name).add(name + PARTIAL);
    }
    for (const entry of await fs.readdir(this.dir)) {
      if (!keep.has(entry)) await fs.rm(path.join(this.dir, entry), { recursive: true, force: true });
    }
    await fs.writeFile(path.join(this.dir, STATE), JSON.stringify({ source, files } satisfies State, null, 2));
  }

  /** Bytes already there for `name` and whether the file is finished (it was checked before it lost `.partial`). */
  async have(name: string, size: number | undefined): Promise<{ bytes: number; finished: boolean }> {
    const stat = async (p: string): Promise<number | undefined> => (await fs.stat(p).catch(() => undefined))?.size;
    const whole = await stat(path.join(this.dir, name));
    if (whole !== undefined && (size === undefined || whole === size)) return { bytes: whole, finished: true };
    if (whole !== undefined) await fs.rm(path.join(this.dir, name), { force: true });
    return { bytes: (await stat(path.join(this.dir, name + PARTIAL))) ?? 0, finished: false };
  }

  partialPath(name: string): string {
    return path.join(this.dir, name + PARTIAL);
  }

  async finish(name: string): Promise<void> {
    await fs.rename(this.partialPath(name), path.join(this.dir, name));
  }

  /**
   * Removes the bookkeeping so that the folder holds only model files, for the
   * caller to install; returns how to put it back should installing fail, so
   * that the finished files are still trusted by the next run.
   */
  async seal(): Promise<() => Promise<void>> {
    const state = await fs.readFile(path.join(this.dir, STATE), 'utf8').catch(() => undefined);
    await fs.rm(path.join(this.dir, STATE), { force: true });
    await this.release();
    return async () => {
      if (state !== undefined) await fs.writeFile(path.join(this.dir, STATE), state).catch(() => undefined);
    };
  }

  /** Lets go of the lock, keeping the files for a later resume. */
  async release(): Promise<void> {
    if (!held.delete(this.dir)) return;
    await fs.rm(path.join(this.dir, LOCK), { force: true });
  }
}
