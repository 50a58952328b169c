/**
 * Claims on files of a watched folder. A file is claimed by renaming it into
 * the processing area: a rename is atomic, so when two Node-RED instances
 * watch one local folder, exactly one of them gets each file. Each claim has
 * a lease in a JSON record beside it; a claim whose lease ran out (its
 * instance crashed or hangs), or whose owner is known to be gone, is taken
 * over by the next instance that looks, again by an atomic rename.
 *
 * The names a claim produces (its output, its original's name in done/) are
 * decided when it is made and kept in its record, so a retry after a crash
 * writes the same files rather than new ones, and no two claims share one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { moveNoClobber, pidAlive, tempIn, writeFileAtomic } from '../common/atomic-write';
import { printable } from '../common/printable';
import { outputRelativeFor, type IntakeLayout } from './layout';
import { AUDIT_SUFFIX, ERROR_SUFFIX, NameReservations } from './names';

export interface ClaimRecord {
  token: string;
  /** Path of the original, relative to the watched folder. */
  relative: string;
  claimedAt: string;
  leaseUntil: number;
  owner: string;
  /** Times this file was taken up (more than 1 after a crash, a hang or a stop). */
  attempt: number;
  /** Earlier attempts that ended neither finished nor failed, nor stopped cleanly: crashes and hangs. */
  unfinished: number;
  /** The redacted output, relative to the output folder. */
  output: string;
  /** The original's name in done/, relative to it; absent when originals are deleted. */
  done?: string;
  /** Name reservations this claim holds (see names.ts). */
  reserved: string[];
  /** Where this attempt's workers write the result (a hidden file beside the output). */
  staging: string;
  /** An attempt of this claim may have published the output already: it is this claim's to replace or remove. */
  published?: boolean;
  /** The last owner stopped cleanly (a redeploy or a shutdown) rather than crashing. */
  stopped?: boolean;
  /** Why the last attempt did not finish, where that is known. */
  lastError?: string;
  /**
   * Waiting for a person's decision (the review item's id): no time limit
   * runs, and after a restart the claim is held again as it was, not re-run.
   */
  parked?: string;
}

export interface Claim extends ClaimRecord {
  /** Where the claimed file now is. */
  file: string;
}

/** Claim stores alive in this process, by instance id. */
const liveInstances = new Set<string>();

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

export interface ClaimOptions {
  leaseMs: number;
  /** Originals are deleted after success rather than moved to done/ (no done/ name is chosen). */
  deleteOriginal: boolean;
  /** Attempts that may end unfinished before the file goes to failed/ instead of being taken up again. */
  maxAttempts: number;
}

export interface Recovery {
  /** Claims taken over, to run again. */
  recovered: Claim[];
  /** Claims that had run out of attempts and went to failed/. */
  failed: Array<{ relative: string; reason: string }>;
}

export class ClaimStore {
  private readonly owner: string;
  private readonly instance = randomBytes(6).toString('hex');
  private readonly names: NameReservations;

  constructor(
    private readonly layout: IntakeLayout,
    private readonly o: ClaimOptions,
  ) {
    this.owner = `${os.hostname()}:${process.pid}:${this.instance}`;
    this.names = new NameReservations(path.join(layout.processing, '.names'));
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

  outputOf(r: ClaimRecord): string {
    return path.join(this.layout.output, r.output);
  }

  private stagingFor(output: string): string {
    return tempIn(path.dirname(path.join(this.layout.output, output)));
  }

  private async writeRecord(r: ClaimRecord): Promise<void> {
    // The claim's live file handle stays out of the record on disk.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { file: _file, ...record } = r as Claim;
    await writeFileAtomic(this.recordPath(r.token), JSON.stringify(record));
  }

  /** Claims `file` (inside the watched folder); null when another instance got it first. */
  async claim(file: string): Promise<Claim | null> {
    const relative = path.relative(this.layout.watch, file);
    const token = newToken();
    const reserved: string[] = [];
    try {
      const output = await this.names.choose(this.layout.output, outputRelativeFor(relative), [AUDIT_SUFFIX]);
      reserved.push(output.key);
      const done = this.o.deleteOriginal ? undefined : await this.names.choose(this.layout.done, relative);
      if (done) reserved.push(done.key);
      const record: ClaimRecord = {
        token,
        relative,
        claimedAt: new Date().toISOString(),
        leaseUntil: Date.now() + this.o.leaseMs,
        owner: this.owner,
        attempt: 1,
        unfinished: 0,
        output: output.relative,
        done: done?.relative,
        reserved,
        staging: this.stagingFor(output.relative),
      };
      const target = this.fileOf(token, relative);
      await fs.mkdir(path.dirname(target), { recursive: true });
      // The record first: a crash right after the rename still leaves a lease to recover from.
      await this.writeRecord(record);
      await fs.rename(file, target);
      return { ...record, file: target };
    } catch (err) {
      // Nothing of a claim that was not made is left: no record, no empty folder, no reserved names.
      await this.forget(token, reserved);
      // Gone: another instance claimed it first (or it was removed). Anything else is tried again later.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await fs.lstat(file).then(() => true, () => false))) return null;
      throw err;
    }
  }

  async renew(claim: Claim): Promise<void> {
    claim.leaseUntil = Date.now() + this.o.leaseMs;
    await this.writeRecord(claim);
  }

  /** A claim waiting for review (`id`), or no longer (undefined). */
  async markParked(claim: Claim, id: string | undefined): Promise<void> {
    claim.parked = id;
    await this.writeRecord(claim);
  }

  /** Recorded before the output is published: should this attempt fail after all, the output is its own to remove. */
  async markPublished(claim: Claim): Promise<void> {
    claim.published = true;
    await this.writeRecord(claim);
  }

  /** The owner stops cleanly: the claim is free at once, and this attempt does not count as a failure. */
  async release(claim: Claim, why: string): Promise<void> {
    await this.writeRecord({ ...claim, leaseUntil: 0, stopped: true, lastError: why });
  }

  /** The original goes to done/ under the claim's name (or is deleted); returns where, relative to done/. */
  async finish(claim: Claim): Promise<string | undefined> {
    let done: string | undefined;
    if (claim.done === undefined) await fs.rm(claim.file, { force: true });
    else done = await this.moveOut(claim.file, this.layout.done, claim.done, []);
    await this.forget(claim.token, claim.reserved);
    return done;
  }

  /**
   * Moves `file` to `folder/wanted`, or to the next free variant of that
   * name should another file have taken it meanwhile: never over anything.
   */
  private async moveOut(file: string, folder: string, wanted: string, sidecars: string[]): Promise<string> {
    let name = wanted;
    for (let tries = 0; ; tries++) {
      try {
        await moveNoClobber(file, path.join(folder, name));
        return name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 20) throw err;
        const next = await this.names.choose(folder, wanted, sidecars);
        await this.names.release([next.key]);
        name = next.relative;
      }
    }
  }

  /** The original goes to failed/, with the reason in a text file beside it; returns its path there. */
  async fail(claim: Claim, reason: string): Promise<string> {
    const chosen = await this.names.choose(this.layout.failed, claim.relative, [ERROR_SUFFIX]);
    let name: string;
    try {
      name = await this.moveOut(claim.file, this.layout.failed, chosen.relative, [ERROR_SUFFIX]);
    } finally {
      await this.names.release([chosen.key]);
    }
    const target = path.join(this.layout.failed, name);
    // The reason names the file the user dropped; both are escaped so a name cannot forge lines.
    const text = `${printable(reason)}\nfile: ${printable(claim.relative)}\nattempt: ${claim.attempt}\n`;
    try {
      await writeFileAtomic(target + ERROR_SUFFIX, text);
    } finally {
      await this.forget(claim.token, claim.reserved);
    }
    return target;
  }

  private async forget(token: string, reserved: readonly string[]): Promise<void> {
    await fs.rm(path.join(this.layout.processing, token), { recursive: true, force: true });
    await fs.rm(this.recordPath(token), { force: true });
    await this.names.release(reserved);
  }

  private async records(): Promise<Array<{ name: string; record: ClaimRecord }>> {
    const names = await fs.readdir(this.layout.processing).catch(() => [] as string[]);
    const out: Array<{ name: string; record: ClaimRecord }> = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        out.push({ name, record: JSON.parse(await fs.readFile(path.join(this.layout.processing, name), 'utf8')) as ClaimRecord });
      } catch {
        // being written or removed by its owner right now
      }
    }
    return out;
  }

  /** Name reservations that no claim record lists, left by a crash between reserving and recording. */
  async removeOrphanReservations(): Promise<void> {
    const listed = new Set((await this.records()).flatMap((r) => r.record.reserved ?? []));
    await this.names.removeOrphans(listed, this.o.leaseMs);
  }

  /**
   * Takes over claims whose lease has run out or whose owner is gone, except
   * `active` ones (this instance's own, in progress). Each is moved to a new
   * token by rename, so of several instances recovering at once only one
   * wins. A claim that has run out of attempts goes to failed/ instead.
   */
  async recoverExpired(active: ReadonlySet<string>, now = Date.now()): Promise<Recovery> {
    const result: Recovery = { recovered: [], failed: [] };
    for (const { name, record } of await this.records()) {
      const token = name.slice(0, -5);
      if (active.has(token) || (record.leaseUntil > now && !ownerGone(record.owner))) continue;
      const gone = ownerGone(record.owner);
      // A claim parked for review was not running: it is held again as it was, not counted as an attempt.
      const unfinished = (record.unfinished ?? 0) + (record.stopped || record.parked ? 0 : 1);
      const fresh: ClaimRecord = {
        ...record,
        token: newToken(),
        leaseUntil: now + this.o.leaseMs,
        owner: this.owner,
        attempt: record.parked ? record.attempt : record.attempt + 1,
        unfinished,
        reserved: record.reserved ?? [],
        output: record.output ?? outputRelativeFor(record.relative),
        staging: this.stagingFor(record.output ?? outputRelativeFor(record.relative)),
        stopped: false,
      };
      try {
        await fs.rename(path.join(this.layout.processing, token), path.join(this.layout.processing, fresh.token));
      } catch {
        continue; // another instance took it over first
      }
      const file = this.fileOf(fresh.token, record.relative);
      // The attempt that ended wrote its result here, if anything (a parked one had not started writing).
      if (record.staging && !record.parked) await fs.rm(record.staging, { force: true });
      try {
        await fs.access(file);
      } catch {
        // Claimed on paper but the file never moved in (crash between the two steps).
        await this.forget(fresh.token, fresh.reserved);
        await fs.rm(path.join(this.layout.processing, name), { force: true });
        continue;
      }
      await this.writeRecord(fresh);
      await fs.rm(path.join(this.layout.processing, name), { force: true });
      const claim: Claim = { ...fresh, file };
      if (unfinished >= this.o.maxAttempts) {
        const last = record.lastError ?? (gone ? 'the Node-RED process that held it stopped before finishing it' : 'its lease ran out: the instance that held it stopped answering');
        const reason = `failed ${unfinished} times: ${last}`;
        await this.removePublished(claim);
        await this.fail(claim, reason);
        result.failed.push({ relative: record.relative, reason });
      } else {
        result.recovered.push(claim);
      }
    }
    return result;
  }

  /** A failing claim's output and audit, if one of its attempts published them: never another input's. */
  async removePublished(claim: ClaimRecord): Promise<void> {
    if (!claim.published) return;
    const output = this.outputOf(claim);
    await fs.rm(output, { force: true });
    await fs.rm(output + AUDIT_SUFFIX, { force: true });
  }
}
