/**
 * The engine's side of the inference host: starts the host process, loads the
 * models it was given (SAM 3, the text models, or both), sends it requests,
 * and fails every pending request with a clear error when the process dies,
 * never with an empty result. The next request starts a fresh host and
 * reloads every model that had loaded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { HostCalls, HostKind, HostReply, HostRequest, HostValue, LoadSpec, ModelInfo, SegmentJob, SegmentReply } from './host-protocol';
import type { TextDetectJob, TextDetectReply, TextLoadSpec, TextModelInfo, TextReadJob, TextReadReply } from './text/text-protocol';

type Pending = { resolve: (value: HostValue) => void; reject: (err: Error) => void; what: string };

/** The models a host can hold, each loaded by its own request. */
export interface HostLoads {
  sam3?: LoadSpec;
  text?: TextLoadSpec;
}

/** What each loaded model reported. */
export interface HostInfo {
  sam3?: ModelInfo;
  text?: TextModelInfo;
}

export type HostModel = keyof HostLoads;

export class InferenceHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InferenceHostError';
  }
}

const KILL_GRACE_MS = 3000;

export class InferenceHost {
  private child: ChildProcess | undefined;
  private ready: Promise<HostInfo> | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly loads: HostLoads;
  private nextId = 1;
  private closed = false;
  /** How many host processes this engine has started (1 until a crash). */
  starts = 0;

  constructor(loads: HostLoads = {}) {
    this.loads = { ...loads };
  }

  /** Starts the host (if not running) and loads every model given so far. */
  start(): Promise<HostInfo> {
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
   * Loads one more model into the running host. Only a model that loaded is
   * remembered for restarts, so a model that fails leaves the host serving the
   * others.
   */
  async add<K extends HostModel>(model: K, spec: NonNullable<HostLoads[K]>): Promise<NonNullable<HostInfo[K]>> {
    await this.start();
    const info = await this.loadOne(model, spec);
    this.loads[model] = spec;
    return info;
  }

  /** Models that are part of this host (loaded, or reloaded on the next start). */
  get models(): HostModel[] {
    return (Object.keys(this.loads) as HostModel[]).filter((m) => this.loads[m] !== undefined);
  }

  async segment(job: SegmentJob): Promise<SegmentReply> {
    await this.start();
    return this.request('segment', { job }, 'segmenting an image');
  }

  async detectText(job: TextDetectJob): Promise<TextDetectReply> {
    await this.start();
    return this.request('detect-text', { job }, 'detecting text');
  }

  async readText(job: TextReadJob): Promise<TextReadReply> {
    await this.start();
    return this.request('read-text', { job }, 'reading text');
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

  private async loadAll(): Promise<HostInfo> {
    const info: HostInfo = {};
    // In order, one at a time: the host serves one request at a time anyway.
    if (this.loads.text) info.text = await this.loadOne('text', this.loads.text);
    if (this.loads.sam3) info.sam3 = await this.loadOne('sam3', this.loads.sam3);
    return info;
  }

  private async loadOne<K extends HostModel>(model: K, spec: NonNullable<HostLoads[K]>): Promise<NonNullable<HostInfo[K]>> {
    // The model name decides both the request and the info it answers with.
    const info: HostValue = model === 'sam3'
      ? await this.request('load', { spec: spec as LoadSpec }, 'loading the SAM 3 model')
      : await this.request('load-text', { spec: spec as TextLoadSpec }, 'loading the text models');
    return info as NonNullable<HostInfo[K]>;
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

  private request<K extends HostKind>(kind: K, payload: HostCalls[K]['payload'], what: string): Promise<HostCalls[K]['value']> {
    const child = this.child;
    if (!child) return Promise.reject(new InferenceHostError('the inference host is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The host answers this id with the value its kind promises.
      this.pending.set(id, { resolve: resolve as (value: HostValue) => void, reject, what });
      // A host that is dying (killed, crashed) settles this call on its exit, with the reason, as it does
      // the calls already sent; only if no exit comes does the call fail with what was seen here.
      const orExit = (why: string): void => {
        setTimeout(() => this.settle(id, new InferenceHostError(why)), KILL_GRACE_MS).unref();
      };
      if (!child.connected) return orExit('the inference host is not running');
      child.send({ id, kind, ...payload } as HostRequest, (err) => {
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
