/**
 * The engine's side of the inference host: starts the host process, loads
 * the backends it was given (each by its host-side module and a spec), sends
 * it requests, and fails every pending request with a clear error when the
 * process dies, never with an empty result. The next request starts a fresh
 * host and reloads every backend that had loaded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { LOAD, type HostReply, type HostRequest, type OpTable } from './protocol';

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void; what: string };

/** A backend as the host loads it: the compiled module of its host side, and what it loads. */
export interface HostLoad {
  module: string;
  spec: unknown;
  /** Named in errors ("loading the SAM 3 model"). */
  title: string;
}

export class InferenceHostError extends Error {
  readonly code = 'INFERENCE_HOST_DIED';
  constructor(message: string) {
    super(message);
    this.name = 'InferenceHostError';
  }
}

const KILL_GRACE_MS = 3000;

/** Calls to one backend's operations, typed by its OpTable. */
export interface BackendCalls<Ops extends OpTable> {
  call<K extends keyof Ops & string>(op: K, payload: Ops[K]['payload'], what: string): Promise<Ops[K]['value']>;
}

export class InferenceHost {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly loads = new Map<string, HostLoad>();
  private nextId = 1;
  private closed = false;
  /** How many host processes this engine has started (1 until a crash). */
  starts = 0;

  /** Starts the host (if not running) and loads every backend added so far. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new InferenceHostError('the engine is closed'));
    if (!this.ready) {
      this.spawn();
      this.ready = this.loadAll();
      // A failed load must not stick: the next call tries again from scratch.
      this.ready.catch(() => this.stop());
    }
    return this.ready;
  }

  /**
   * Loads one more backend into the running host; resolves with what it
   * reported. Only a backend that loaded is remembered for restarts, so one
   * that fails leaves the host serving the others.
   */
  async add(backend: string, load: HostLoad): Promise<unknown> {
    await this.start();
    const info = await this.loadOne(backend, load);
    this.loads.set(backend, load);
    return info;
  }

  /** Backends that are part of this host (loaded, or reloaded on the next start). */
  get models(): string[] {
    return [...this.loads.keys()];
  }

  /** Typed calls to one backend's operations. */
  calls<Ops extends OpTable>(backend: string): BackendCalls<Ops> {
    return {
      call: async (op, payload, what) => {
        await this.start();
        return (await this.request(backend, op, payload, what));
      },
    };
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

  private async loadAll(): Promise<void> {
    // In order, one at a time: the host serves one request at a time anyway.
    for (const [backend, load] of this.loads) await this.loadOne(backend, load);
  }

  private loadOne(backend: string, load: HostLoad): Promise<unknown> {
    return this.request(backend, LOAD, load.spec, `loading ${load.title}`, load.module);
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

  private request(backend: string, op: string, payload: unknown, what: string, module?: string): Promise<unknown> {
    const child = this.child;
    if (!child) return Promise.reject(new InferenceHostError('the inference host is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what });
      // A host that is dying (killed, crashed) settles this call on its exit, with the reason, as it does
      // the calls already sent; only if no exit comes does the call fail with what was seen here.
      const orExit = (why: string): void => {
        setTimeout(() => this.settle(id, new InferenceHostError(why)), KILL_GRACE_MS).unref();
      };
      if (!child.connected) return orExit('the inference host is not running');
      const request: HostRequest = { id, backend, op, payload, ...(module ? { module } : {}) };
      child.send(request, (err) => {
        if (err) orExit(`could not reach the inference host: ${err.message}`);
      });
    });
  }

  private onReply(reply: HostReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else {
      const err = new Error(reply.error.message) as Error & { code?: string };
      err.name = reply.error.name;
      if (reply.error.code) err.code = reply.error.code;
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
          `the inference host ${how} while ${p.what}; no result was produced (the next call starts a new host)`,
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
