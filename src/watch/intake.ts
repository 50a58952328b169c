/**
 * A watched folder as a work queue: files that have finished arriving are
 * queued, claimed one at a time as capacity frees up (at most maxInFlight in
 * progress), handed out as jobs, and finished (original to done/, audit
 * beside the output) or quarantined (original to failed/ with the reason).
 * Nothing is lost: a claim that is not finished in time fails with that
 * reason, and claims left by a crash are taken up again when their lease
 * runs out.
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FSWatcher } from 'chokidar' with { 'resolution-mode': 'import' };
import { writeFileAtomic } from '../common/atomic-write';
import { auditRecord, type AuditFacts } from './audit';
import { ClaimStore, type Claim } from './claims';
import { isIgnored, kindOf, makeLayout, outputPathFor, type IntakeLayout } from './layout';

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
}

export interface IntakeJob {
  token: string;
  kind: 'image' | 'video';
  /** The claimed file (in the processing area). */
  input: string;
  /** Relative path of the original in the watched folder. */
  relative: string;
  /** Where the redacted result must be written. */
  output: string;
  attempt: number;
}

export interface IntakeCounts {
  queued: number;
  processing: number;
  done: number;
  failed: number;
}

export class UnknownClaimError extends Error {
  constructor(token: string) {
    super(`claim ${token} is not in progress here (already finished, timed out, or claimed by another instance)`);
    this.name = 'UnknownClaimError';
  }
}

interface Active {
  claim: Claim;
  job: IntakeJob;
  timer: NodeJS.Timeout;
}

export class FolderIntake extends EventEmitter {
  readonly layout: IntakeLayout;
  private readonly claims: ClaimStore;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Map<string, Active>();
  private watcher: FSWatcher | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private pumping = false;
  private closed = false;
  readonly counts: IntakeCounts = { queued: 0, processing: 0, done: 0, failed: 0 };
  private readonly o: Required<Omit<IntakeOptions, 'done' | 'failed'>>;

  constructor(options: IntakeOptions) {
    super();
    this.o = {
      recursive: false, stabilityMs: 2000, polling: false, maxInFlight: 2, timeoutMs: 600_000, leaseMs: 120_000, deleteOriginal: false, audit: true,
      ...options,
    };
    this.layout = makeLayout({ watch: options.folder, output: options.output, done: options.done, failed: options.failed });
    this.claims = new ClaimStore(this.layout, this.o.leaseMs);
  }

  async start(): Promise<void> {
    for (const dir of [this.layout.watch, this.layout.processing, this.layout.output]) await fs.mkdir(dir, { recursive: true });
    // Claims an earlier run left behind are taken up first.
    for (const claim of await this.claims.recoverExpired()) this.begin(claim);
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
    watcher.on('add', (file: string) => this.enqueue(file));
    // A file dropped again under a name just claimed can look like a change of the old one.
    watcher.on('change', (file: string) => this.enqueue(file));
    watcher.on('error', (err: unknown) => this.emit('warning', err instanceof Error ? err : new Error(String(err))));
    this.watcher = watcher;
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    // Renew our leases and take up other instances' expired ones.
    this.heartbeat = setInterval(() => void this.tick(), Math.max(1000, this.o.leaseMs / 3));
  }

  private enqueue(file: string): void {
    const ext = path.extname(file).slice(1).toLowerCase();
    if (!this.o.extensions.includes(ext) || this.queued.has(file)) return;
    this.queued.add(file);
    this.queue.push(file);
    this.counts.queued = this.queue.length;
    this.changed();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.active.size < this.o.maxInFlight && this.queue.length > 0) {
        const file = this.queue.shift() as string;
        this.queued.delete(file);
        this.counts.queued = this.queue.length;
        try {
          const claim = await this.claims.claim(file);
          // A link could make the flow read (and the audit hash) a file outside the folder.
          if (claim && (await fs.lstat(claim.file)).isSymbolicLink()) {
            await this.claims.fail(claim, 'symbolic links are not followed: copy the file itself into the folder');
            this.counts.failed++;
            continue;
          }
          if (claim) this.begin(claim);
        } catch (err) {
          this.emit('warning', new Error(`could not claim ${file}: ${(err as Error).message}`));
        }
      }
    } finally {
      this.pumping = false;
      this.changed();
    }
  }

  private begin(claim: Claim): void {
    const kind = kindOf(claim.relative) ?? 'image';
    const job: IntakeJob = {
      token: claim.token,
      kind,
      input: claim.file,
      relative: claim.relative,
      output: outputPathFor(claim.relative, this.layout),
      attempt: claim.attempt,
    };
    const timer = setTimeout(
      () => void this.fail(claim.token, `not finished within ${Math.round(this.o.timeoutMs / 1000)} s`).catch(() => undefined),
      this.o.timeoutMs,
    );
    this.active.set(claim.token, { claim, job, timer });
    this.counts.processing = this.active.size;
    this.changed();
    this.emit('job', job);
  }

  private take(token: string): Active {
    const a = this.active.get(token);
    if (!a) throw new UnknownClaimError(token);
    this.active.delete(token);
    clearTimeout(a.timer);
    this.counts.processing = this.active.size;
    return a;
  }

  /** The job's output was written: the original goes to done/ (or is deleted), with an audit file beside the output. */
  async complete(token: string, facts: AuditFacts = {}): Promise<IntakeJob> {
    const a = this.active.get(token);
    if (!a) throw new UnknownClaimError(token);
    try {
      await fs.access(a.job.output);
    } catch {
      await this.fail(token, `no output was written to ${a.job.output}`);
      throw new Error(`no output was written to ${a.job.output}; the original is in ${this.layout.failed}`);
    }
    this.take(token);
    try {
      if (this.o.audit) {
        const record = await auditRecord({ input: a.claim.file, relative: a.claim.relative, output: a.job.output, attempt: a.claim.attempt, facts });
        await writeFileAtomic(`${a.job.output}.audit.json`, `${JSON.stringify(record, null, 2)}\n`);
      }
      await this.claims.finish(a.claim, this.o.deleteOriginal);
      this.counts.done++;
    } finally {
      this.changed();
      void this.pump();
    }
    return a.job;
  }

  /** The job failed: the original goes to failed/ with the reason beside it; no output is kept. */
  async fail(token: string, reason: string): Promise<string> {
    const a = this.take(token);
    try {
      await fs.rm(a.job.output, { force: true });
      const where = await this.claims.fail(a.claim, reason);
      this.counts.failed++;
      this.emit('failed', a.job, reason);
      return where;
    } finally {
      this.changed();
      void this.pump();
    }
  }

  private async tick(): Promise<void> {
    for (const a of this.active.values()) await this.claims.renew(a.claim).catch(() => undefined);
    if (this.active.size < this.o.maxInFlight) for (const claim of await this.claims.recoverExpired()) this.begin(claim);
  }

  private changed(): void {
    this.emit('counts', { ...this.counts });
  }

  /**
   * Stops watching. Claims in progress keep their files in the processing
   * area: their leases run out and the next start takes them up again.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const a of this.active.values()) clearTimeout(a.timer);
    this.active.clear();
    this.claims.close();
    await this.watcher?.close();
  }
}
