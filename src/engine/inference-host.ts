/**
 * The engine's side of the inference host: starts the host process, sends it
 * requests, and fails every pending request with a clear error when the
 * process dies, never with an empty result. The next request starts a fresh
 * host and reloads the model.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { HostReply, HostRequest, LoadSpec, ModelInfo, SegmentJob, SegmentReply } from './host-protocol';

type Pending = { resolve: (value: ModelInfo | SegmentReply) => void; reject: (err: Error) => void; what: string };
type Payload = { kind: 'load'; spec: LoadSpec } | { kind: 'segment'; job: SegmentJob };

export class InferenceHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InferenceHostError';
  }
}

const KILL_GRACE_MS = 3000;

export class InferenceHost {
  private child: ChildProcess | undefined;
  private ready: Promise<ModelInfo> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** How many host processes this engine has started (1 until a crash). */
  starts = 0;

  constructor(private readonly spec: LoadSpec) {}

  /** Starts the host (if not running) and loads the model; resolves with what the model reports. */
  start(): Promise<ModelInfo> {
    if (this.closed) return Promise.reject(new InferenceHostError('the SAM 3 engine is closed'));
    if (!this.ready) {
      this.spawn();
      this.ready = this.request({ kind: 'load', spec: this.spec }, 'loading the model') as Promise<ModelInfo>;
      // A failed load must not stick: the next call tries again from scratch.
      this.ready.catch(() => this.stop());
    }
    return this.ready;
  }

  async segment(job: SegmentJob): Promise<SegmentReply> {
    await this.start();
    return (await this.request({ kind: 'segment', job }, 'segmenting an image')) as SegmentReply;
  }

  /** The host's process id, while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Requests sent to the host and not yet answered. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Ends the host process at once (as a crash would). Pending requests fail. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private spawn(): void {
    const child = fork(path.join(__dirname, 'host-process.js'), [], {
      serialization: 'advanced', // typed arrays travel as binary, not as JSON number lists
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [], // never inherit --test, --inspect and the like from the parent
    });
    this.starts++;
    this.child = child;
    child.on('message', (raw: unknown) => this.onReply(raw as HostReply));
    child.on('error', (err) => this.onExit(child, `could not be run: ${err.message}`));
    child.on('exit', (code, signal) => this.onExit(child, signal ? `was killed by ${signal}` : `exited with code ${code}`));
  }

  private request(payload: Payload, what: string): Promise<ModelInfo | SegmentReply> {
    const child = this.child;
    if (!child || !child.connected) return Promise.reject(new InferenceHostError('the SAM 3 inference host is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what });
      child.send({ id, ...payload } as HostRequest, (err) => {
        if (err) this.settle(id, new InferenceHostError(`could not reach the SAM 3 inference host: ${err.message}`));
      });
    });
  }

  private onReply(reply: HostReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else {
      const err = new Error(reply.error.message);
      err.name = reply.error.name;
      p.reject(err);
    }
  }

  private settle(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(err);
  }

  private onExit(child: ChildProcess, how: string): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.ready = undefined;
    for (const [id, p] of [...this.pending]) {
      this.settle(
        id,
        new InferenceHostError(
          `the SAM 3 inference host ${how} while ${p.what}; no result was produced (the next call starts a new host)`,
        ),
      );
    }
  }

  private async stop(): Promise<void> {
    const child = this.child;
    this.ready = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}
