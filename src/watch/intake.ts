/**
 * A watched folder as a work queue: files that have finished arriving are
 * queued, claimed one at a time as capacity frees up (at most maxInFlight in
 * progress), handed out as jobs, and finished (output published with its
 * audit, original to done/) or quarantined (original to failed/ with the
 * reason). Nothing is lost: a claim that is not finished in time fails with
 * that reason, and claims left by a crash are taken up again when their
 * lease runs out, at most maxAttempts times.
 *
 * A job's worker writes its result to `job.staging`; complete() publishes it
 * to `job.output`: the audit is written to a temporary name first, then the
 * output takes its name, then the audit. If any step fails, neither stays.
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FSWatcher } from 'chokidar' with { 'resolution-mode': 'import' };
import { isStaleTemp, moveNoClobber, writeTemp } from '../common/atomic-write';
import { printable } from '../common/printable';
import { auditRecord, type AuditFacts } from './audit';
import { ClaimStore, type Claim } from './claims';
import { isIgnored, kindOf, makeLayout, type IntakeLayout } from './layout';
import { LiveClaim, liveClaims } from './live-claims';
import { AUDIT_SUFFIX } from './names';

export interface IntakeOptions {
  folder: string;
  output: string;
  done?: string;
  failed?: string;
  recursive?: boolean;
  /** Lower-case extensions without the dot. */
  extensions: string[];
  /** A file counts as complete once its size has not changed for this long. */
  stabilityMs?: number;
  /** Poll instead of using file-system events (network mounts). */
  polling?: boolean;
  maxInFlight?: number;
  /** A job not finished in this time fails. */
  timeoutMs?: number;
  leaseMs?: number;
  deleteOriginal?: boolean;
  audit?: boolean;
  /** How long a failed or timed-out job's work may take to stop before its original goes to failed/ regardless. */
  stopGraceMs?: number;
  /** Attempts that may end unfinished (a crash, a hang) before the file goes to failed/. */
  maxAttempts?: number;
  /**
   * The folder is read again once the watcher is ready and then every this
   * many ms (0: only once): a file whose event was lost (dropped while the
   * watcher started, a busy network mount) is still taken.
   */
  rescanMs?: number;
  /** For tests: a watcher event this returns true for is dropped, as a lost event would be. */
  dropEvent?: (file: string) => boolean;
}

export interface IntakeJob {
  token: string;
  kind: 'image' | 'video';
  /** The claimed file (in the processing area). */
  input: string;
  /** Relative path of the original in the watched folder. */
  relative: string;
  /** Where the redacted result is published by complete(). */
  output: string;
  /** Where the worker writes the redacted result (a hidden file beside the output). */
  staging: string;
  attempt: number;
  /** When the job was handed out (ms since the epoch). */
  startedAt: number;
  /** Aborted when the job must stop early (time-out, the intake closed). */
  signal: AbortSignal;
}

export interface IntakeCounts {
  queued: number;
  processing: number;
  done: number;
  failed: number;
}

export class UnknownClaimError extends Error {
  readonly code = 'UNKNOWN_CLAIM';
  constructor(token: string) {
    super(`claim ${token} is not in progress here (already finished, timed out, or claimed by another instance)`);
    this.name = 'UnknownClaimError';
  }
}

/** complete() could not finish the job, which went to failed/ (and was reported as 'failed'). */
export class QuarantinedError extends Error {
  readonly code = 'QUARANTINED';
  constructor(reason: string, failedFolder: string) {
    super(`${reason}; the original is in ${failedFolder}`);
    this.name = 'QuarantinedError';
  }
}

interface Active {
  claim: Claim;
  job: IntakeJob;
  live: LiveClaim;
  /** The time limit; none while the claim is parked for review. */
  timer: NodeJS.Timeout | undefined;
}

const exists = (p: string): Promise<boolean> => fs.access(p).then(() => true, () => false);

/** Whether `p` settles within `ms`. */
function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true), late]).finally(() => clearTimeout(timer));
}

/** Every entry under `dir`, recursively; [] when it does not exist. */
async function walk(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export class FolderIntake extends EventEmitter {
  readonly layout: IntakeLayout;
  private readonly claims: ClaimStore;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Map<string, Active>();
  /** Jobs that ended early (time-out, failure) and whose work has not stopped yet: they keep their slot. */
  private stopping = 0;
  /** Completions under way (publishing, moving the original, forgetting the claim). */
  private readonly completing = new Set<Promise<void>>();
  /** Claims taken out of progress whose original has not been moved yet: never taken over by our own recovery. */
  private readonly ending = new Set<string>();
  /** Files whose claim failed (a full disk), with the failures so far: retried with back-off. */
  private readonly retries = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private watcher: FSWatcher | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private scanning = false;
  private pumping = false;
  private closed = false;
  readonly counts: IntakeCounts = { queued: 0, processing: 0, done: 0, failed: 0 };
  private readonly o: Required<Omit<IntakeOptions, 'done' | 'failed' | 'dropEvent'>> & Pick<IntakeOptions, 'dropEvent'>;

  constructor(options: IntakeOptions) {
    super();
    this.o = {
      recursive: false, stabilityMs: 2000, polling: false, maxInFlight: 2, timeoutMs: 600_000, leaseMs: 120_000, deleteOriginal: false, audit: true, maxAttempts: 2, rescanMs: 10_000, stopGraceMs: 30_000,
      ...options,
    };
    this.layout = makeLayout({ watch: options.folder, output: options.output, done: options.done, failed: options.failed });
    this.claims = new ClaimStore(this.layout, { leaseMs: this.o.leaseMs, deleteOriginal: this.o.deleteOriginal, maxAttempts: this.o.maxAttempts });
  }

  async start(): Promise<void> {
    for (const dir of [this.layout.watch, this.layout.processing, this.layout.output]) await fs.mkdir(dir, { recursive: true });
    await this.removeLeftovers();
    // Claims an earlier run left behind are taken up first.
    await this.recover();
    const { watch } = await import('chokidar');
    const watcher = watch(this.layout.watch, {
      ignoreInitial: false, // files already there when the flow starts are work too
      depth: this.o.recursive ? undefined : 0,
      usePolling: this.o.polling,
      interval: 1000,
      followSymlinks: false,
      awaitWriteFinish: { stabilityThreshold: this.o.stabilityMs, pollInterval: Math.min(250, this.o.stabilityMs) },
      ignored: (file: string) => file !== this.layout.watch && isIgnored(file, this.layout),
    });
    const event = (file: string): void => {
      if (!this.o.dropEvent?.(file)) this.enqueue(file);
    };
    watcher.on('add', event);
    // A file dropped again under a name just claimed can look like a change of the old one.
    watcher.on('change', event);
    watcher.on('error', (err: unknown) => this.emit('warning', err instanceof Error ? err : new Error(String(err))));
    this.watcher = watcher;
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    // A file that arrived while the watcher started may have no event: read the folder once now, then every so often.
    await this.rescan();
    if (this.o.rescanMs > 0) this.rescanTimer = setInterval(() => void this.rescan(), this.o.rescanMs);
    // Renew our leases and take up other instances' expired ones.
    this.heartbeat = setInterval(() => void this.tick(), Math.max(1000, this.o.leaseMs / 3));
  }

  /**
   * What a crashed process of this host left: temporary files (an encoder
   * orphaned by the crash may even have finished one) and name reservations
   * no claim records. Never a live process's.
   */
  private async removeLeftovers(): Promise<void> {
    const { output, done, failed, processing } = this.layout;
    for (const dir of [output, done, failed, processing]) {
      for (const file of await walk(dir)) if (isStaleTemp(path.basename(file))) await fs.rm(file, { force: true });
    }
    await this.claims.removeOrphanReservations();
  }

  /**
   * Queues the folder's files that have settled (unchanged for the settle
   * time) and that nothing has queued: the watcher's safety net. A file still
   * arriving is left for its event or the next scan; one waiting to retry a
   * claim keeps its back-off.
   */
  private async rescan(): Promise<void> {
    if (this.closed || this.scanning) return;
    this.scanning = true;
    try {
      const dir = this.layout.watch;
      const files = this.o.recursive
        ? await walk(dir)
        : (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => path.join(dir, e.name));
      for (const file of files) {
        if (this.closed) return;
        if (this.queued.has(file) || this.retries.has(file) || isIgnored(file, this.layout)) continue;
        const st = await fs.lstat(file).catch(() => undefined);
        if (st?.isFile() && Date.now() - st.mtimeMs >= this.o.stabilityMs) this.enqueue(file);
      }
    } finally {
      this.scanning = false;
    }
  }

  /** Jobs taking a slot: a claim parked for review waits for a person, not for the machine. */
  private get busy(): number {
    let running = 0;
    for (const a of this.active.values()) if (!a.claim.parked) running++;
    return running + this.stopping;
  }

  private enqueue(file: string): void {
    const ext = path.extname(file).slice(1).toLowerCase();
    if (this.closed || !this.o.extensions.includes(ext) || this.queued.has(file)) return;
    this.queued.add(file);
    this.queue.push(file);
    this.counts.queued = this.queue.length;
    this.changed();
    void this.pump();
  }

  /** A claim that failed for a reason that may pass (a full disk): tried again later, waiting longer each time. */
  private retryLater(file: string, err: Error): void {
    const n = (this.retries.get(file) ?? 0) + 1;
    this.retries.set(file, n);
    if (n === 1 || n % 10 === 0) this.emit('warning', new Error(`could not claim ${printable(file)} (try ${n}, will retry): ${printable(err.message)}`));
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.enqueue(file);
    }, Math.min(60_000, 500 * 2 ** Math.min(n - 1, 7)));
    this.retryTimers.add(timer);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.busy < this.o.maxInFlight && this.queue.length > 0) {
        const file = this.queue.shift() as string;
        this.queued.delete(file);
        this.counts.queued = this.queue.length;
        try {
          const claim = await this.claims.claim(file);
          this.retries.delete(file);
          if (!claim) continue;
          // A link could make the flow read (and the audit hash) a file outside the folder.
          if ((await fs.lstat(claim.file)).isSymbolicLink()) {
            const reason = 'symbolic links are not followed: copy the file itself into the folder';
            await this.claims.fail(claim, reason);
            this.counts.failed++;
            this.emit('failed', claim.relative, reason);
            continue;
          }
          this.begin(claim);
        } catch (err) {
          this.retryLater(file, err as Error);
        }
      }
    } finally {
      this.pumping = false;
      this.changed();
    }
  }

  private begin(claim: Claim): void {
    const output = this.claims.outputOf(claim);
    const live = new LiveClaim(claim.token, output, claim.staging, (id) => this.park(claim.token, id), claim.parked);
    const job: IntakeJob = {
      token: claim.token,
      kind: kindOf(claim.relative) ?? 'image',
      input: claim.file,
      relative: claim.relative,
      output,
      staging: claim.staging,
      attempt: claim.attempt,
      startedAt: Date.now(),
      signal: live.signal,
    };
    liveClaims.add(live);
    // Held again after a restart while it waits for review: no time limit, and no job (its message waits in the review queue).
    const parked = claim.parked !== undefined;
    this.active.set(claim.token, { claim, job, live, timer: parked ? undefined : this.timeLimit(claim.token) });
    this.counts.processing = this.active.size;
    this.changed();
    if (!parked) this.emit('job', job);
  }

  private timeLimit(token: string): NodeJS.Timeout {
    return setTimeout(() => void this.fail(token, `not finished within ${Math.round(this.o.timeoutMs / 1000)} s`).catch(() => undefined), this.o.timeoutMs);
  }

  /** A claim parked for review (`id`) or back from it (undefined): the time limit stops, or starts again from now. */
  private async park(token: string, id: string | undefined): Promise<void> {
    const a = this.active.get(token);
    if (!a) throw new UnknownClaimError(token);
    clearTimeout(a.timer);
    a.timer = id === undefined ? this.timeLimit(token) : undefined;
    await this.claims.markParked(a.claim, id);
    // A parked claim frees its slot for the next file.
    this.changed();
    void this.pump();
  }

  /** Takes a job out of progress; its slot stays taken until `settled` runs. */
  private take(token: string): Active & { settled: () => void } {
    const a = this.active.get(token);
    if (!a) throw new UnknownClaimError(token);
    this.active.delete(token);
    clearTimeout(a.timer);
    this.ending.add(token);
    this.stopping++;
    this.counts.processing = this.active.size;
    let once = false;
    const settled = (): void => {
      if (once) return;
      once = true;
      this.stopping--;
      this.changed();
      void this.pump();
    };
    return { ...a, settled };
  }

  /** The job's result was written: it is published with its audit, and the original goes to done/ (or is deleted). */
  complete(token: string, facts: AuditFacts = {}): Promise<IntakeJob> {
    // close() waits for these: a closed intake changes nothing on disk any more (a restart's claim check included).
    const completing = this.completeNow(token, facts);
    const settled = completing.then(() => undefined, () => undefined);
    this.completing.add(settled);
    void settled.then(() => this.completing.delete(settled));
    return completing;
  }

  private async completeNow(token: string, facts: AuditFacts): Promise<IntakeJob> {
    const a = this.take(token);
    try {
      a.live.end('finished', false);
      await a.live.whenIdle();
      const staged = await exists(a.job.staging);
      // A flow may also have written the output itself (an ordinary file node) rather than the staging file.
      if (!staged && !(await exists(a.job.output))) {
        const reason = `no output was written to ${a.job.output}`;
        await this.quarantine(a, reason);
        throw new QuarantinedError(reason, this.layout.failed);
      }
      try {
        await this.publish(a, staged, facts);
      } catch (err) {
        const reason = `the output could not be published: ${(err as Error).message}`;
        await this.quarantine(a, reason);
        throw new QuarantinedError(reason, this.layout.failed);
      }
      try {
        await this.claims.finish(a.claim);
      } catch (err) {
        // Output and audit are out; the original stays claimed, and the claim is taken up again when its lease runs out.
        await this.claims.release(a.claim, `the original could not be moved to done/: ${(err as Error).message}`).catch(() => undefined);
        throw err;
      }
      this.counts.done++;
      return a.job;
    } finally {
      this.ending.delete(token);
      a.settled();
    }
  }

  /** Audit to a temporary name, then the output, then the audit: both or neither. */
  private async publish(a: Active, staged: boolean, facts: AuditFacts): Promise<void> {
    const { job, claim } = a;
    const result = staged ? job.staging : job.output;
    let auditTemp: string | undefined;
    try {
      if (this.o.audit) {
        const folders = { watched: this.layout.watch, output: this.layout.output, ...(claim.done !== undefined ? { done: this.layout.done } : {}) };
        const record = await auditRecord({ input: claim.file, relative: claim.relative, done: claim.done, result, output: claim.output, folders, attempt: claim.attempt, facts });
        auditTemp = await writeTemp(path.dirname(job.output), `${JSON.stringify(record, null, 2)}\n`);
      }
      const ours = claim.published === true;
      await this.claims.markPublished(claim);
      if (staged) {
        // An earlier attempt of this claim may have published it: that one is replaced, anything else never.
        if (ours) await fs.rename(job.staging, job.output);
        else await moveNoClobber(job.staging, job.output);
      }
      if (auditTemp) await fs.rename(auditTemp, job.output + AUDIT_SUFFIX);
      auditTemp = undefined;
    } finally {
      if (auditTemp) await fs.rm(auditTemp, { force: true });
    }
  }

  /**
   * The job failed (or timed out): its work is stopped through its claim's
   * signal and, once it has stopped, the original goes to failed/ with the
   * reason beside it; no output is kept. Work that has not stopped within
   * the grace time is named in the log and the original goes to failed/
   * anyway (the claim has ended, so that work can publish nothing); its
   * slot stays taken until it does stop, so more jobs than the limit never
   * run at once.
   */
  async fail(token: string, reason: string): Promise<string> {
    const a = this.take(token);
    let stopped: Promise<void> = Promise.resolve();
    let late = false;
    try {
      a.live.end(reason, true);
      stopped = a.live.whenIdle();
      late = !(await settlesWithin(stopped, this.o.stopGraceMs));
      if (late) {
        const held = a.live.heldBy.join(', ');
        this.emit('warning', new Error(`${printable(a.job.relative)} has not stopped ${Math.round(this.o.stopGraceMs / 1000)} s after it ended (${printable(reason)}): still held by ${held}; the original goes to failed/ now, and its slot stays taken until that work stops`));
      }
      return await this.quarantine(a, reason);
    } finally {
      this.ending.delete(token);
      if (late) void stopped.then(() => a.settled());
      else a.settled();
    }
  }

  /** Removes only what this claim wrote, then moves the original to failed/. */
  private async quarantine(a: Active, why: string): Promise<string> {
    // Workers read the claimed copy in the hidden processing area: the reason names the file the user dropped.
    const reason = why.split(a.claim.file).join(a.claim.relative).split(a.job.staging).join(a.job.output);
    await fs.rm(a.job.staging, { force: true });
    await this.claims.removePublished(a.claim);
    try {
      const where = await this.claims.fail(a.claim, reason);
      this.counts.failed++;
      this.emit('failed', a.job.relative, reason, Date.now() - a.job.startedAt);
      return where;
    } catch (err) {
      this.emit('warning', new Error(`${printable(a.job.relative)} failed (${printable(reason)}) and could not be moved to failed/: ${printable((err as Error).message)}`));
      throw err;
    }
  }

  private async recover(): Promise<void> {
    const { recovered, failed } = await this.claims.recoverExpired(new Set([...this.active.keys(), ...this.ending]));
    for (const f of failed) {
      this.counts.failed++;
      this.emit('failed', f.relative, f.reason);
    }
    for (const claim of recovered) this.begin(claim);
  }

  private async tick(): Promise<void> {
    for (const a of this.active.values()) await this.claims.renew(a.claim).catch(() => undefined);
    if (this.busy < this.o.maxInFlight) await this.recover().catch((err: Error) => this.emit('warning', err));
  }

  private changed(): void {
    this.emit('counts', { ...this.counts });
  }

  /**
   * Stops watching. Claims in progress keep their files in the processing
   * area and are released (the stop does not count as a failed attempt):
   * the next start takes them up again.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    const stopping = [...this.active.values()];
    this.active.clear();
    for (const a of stopping) {
      clearTimeout(a.timer);
      a.live.end('the flow was stopped', true);
    }
    await Promise.all(stopping.map((a) => this.claims.release(a.claim, 'the flow was stopped').catch(() => undefined)));
    await Promise.all(this.completing);
    this.claims.close();
    await this.watcher?.close();
  }
}
