/**
 * Claims on files of a watched folder. A file is claimed by renaming it into
 * the processing area: a rename is atomic, so when two Node-RED instances
 * watch one local folder, exactly one of them gets each file. Each claim has
 * a lease in a JSON record beside it; a claim whose lease ran out (its
 * instance crashed or hangs), or whose owner is known to be gone, is taken
 * over by the next instance that looks, again by an atomic rename.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { moveFile, writeFileAtomic } from '../common/atomic-write';
import type { IntakeLayout } from './layout';

export interface ClaimRecord {
  token: string;
  /** Path of the original, relative to the watched folder. */
  relative: string;
  claimedAt: string;
  leaseUntil: number;
  owner: string;
  /** Times this file was taken up (more than 1 after a crash or timeout recovery). */
  attempt: number;
}

export interface Claim extends ClaimRecord {
  /** Where the claimed file now is. */
  file: string;
}

/** Claim stores alive in this process, by instance id. */
const liveInstances = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the claim's owner is certainly gone: a process on this host that
 * no longer runs, or an instance of this process that was closed (a
 * redeploy). Then its claims need not wait for their leases to run out.
 */
function ownerGone(owner: string): boolean {
  const [host, pid, instance] = owner.split(':');
  if (host !== os.hostname()) return false;
  if (Number(pid) !== process.pid) return !pidAlive(Number(pid));
  return !liveInstances.has(instance);
}

const newToken = (): string => `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;

export class ClaimStore {
  private readonly owner: string;
  private readonly instance = randomBytes(6).toString('hex');

  constructor(
    private readonly layout: IntakeLayout,
    private readonly leaseMs: number,
  ) {
    this.owner = `${os.hostname()}:${process.pid}:${this.instance}`;
    liveInstances.add(this.instance);
  }

  /** This store's claims become free to take over at once. */
  close(): void {
    liveInstances.delete(this.instance);
  }

  private recordPath(token: string): string {
    return path.join(this.layout.processing, `${token}.json`);
  }

  private fileOf(token: string, relative: string): string {
    return path.join(this.layout.processing, token, path.basename(relative));
  }

  private async writeRecord(r: ClaimRecord): Promise<void> {
    await writeFileAtomic(this.recordPath(r.token), JSON.stringify(r));
  }

  /** Claims `file` (inside the watched folder); null when another instance got it first. */
  async claim(file: string): Promise<Claim | null> {
    const relative = path.relative(this.layout.watch, file);
    const record: ClaimRecord = { token: newToken(), relative, claimedAt: new Date().toISOString(), leaseUntil: Date.now() + this.leaseMs, owner: this.owner, attempt: 1 };
    const target = this.fileOf(record.token, relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    // The record first: a crash right after the rename still leaves a lease to recover from.
    await this.writeRecord(record);
    try {
      await fs.rename(file, target);
    } catch (err) {
      await this.forget(record.token);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return { ...record, file: target };
  }

  async renew(claim: Claim): Promise<void> {
    claim.leaseUntil = Date.now() + this.leaseMs;
    const { file: _file, ...record } = claim;
    await this.writeRecord(record);
  }

  /** The original goes to done/ (or is deleted), keeping its relative path. */
  async finish(claim: Claim, deleteOriginal: boolean): Promise<string | undefined> {
    let moved: string | undefined;
    if (deleteOriginal) await fs.rm(claim.file, { force: true });
    else {
      moved = path.join(this.layout.done, claim.relative);
      await moveFile(claim.file, moved);
    }
    await this.forget(claim.token);
    return moved;
  }

  /** The original goes to failed/, with the reason in a text file beside it. */
  async fail(claim: Claim, reason: string): Promise<string> {
    const target = path.join(this.layout.failed, claim.relative);
    await moveFile(claim.file, target);
    await writeFileAtomic(`${target}.error.txt`, `${reason}\n`);
    await this.forget(claim.token);
    return target;
  }

  private async forget(token: string): Promise<void> {
    await fs.rm(path.join(this.layout.processing, token), { recursive: true, force: true });
    await fs.rm(this.recordPath(token), { force: true });
  }

  /**
   * Takes over claims whose lease has run out. Each is moved to a new token
   * by rename, so of several instances recovering at once only one wins.
   */
  async recoverExpired(now = Date.now()): Promise<Claim[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.layout.processing);
    } catch {
      return [];
    }
    const recovered: Claim[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const token = name.slice(0, -5);
      let record: ClaimRecord;
      try {
        record = JSON.parse(await fs.readFile(path.join(this.layout.processing, name), 'utf8')) as ClaimRecord;
      } catch {
        continue; // being written or removed by its owner right now
      }
      if (record.owner === this.owner || (record.leaseUntil > now && !ownerGone(record.owner))) continue;
      const fresh: ClaimRecord = { ...record, token: newToken(), leaseUntil: now + this.leaseMs, owner: this.owner, attempt: record.attempt + 1 };
      try {
        await fs.rename(path.join(this.layout.processing, token), path.join(this.layout.processing, fresh.token));
      } catch {
        continue; // another instance took it over first
      }
      const file = this.fileOf(fresh.token, record.relative);
      try {
        await fs.access(file);
      } catch {
        // Claimed on paper but the file never moved in (crash between the two steps).
        await this.forget(fresh.token);
        await fs.rm(path.join(this.layout.processing, name), { force: true });
        continue;
      }
      await this.writeRecord(fresh);
      await fs.rm(path.join(this.layout.processing, name), { force: true });
      recovered.push({ ...fresh, file });
    }
    return recovered;
  }
}
