/**
 * One engine shared by every node that uses a sam3-model config node: SAM 3
 * when its model is there, and the bundled detectors. Loaded on the first
 * user, closed after the last; work that arrives while it loads waits in a
 * bounded queue; a bounded number of calls run at once. It watches the model
 * folder: a model fetched (or replaced) there while Node-RED runs is loaded
 * once it passes the same check as `sam3-model verify`, and swapped in with
 * no restart; calls and video jobs already running finish on the engine they
 * started with. Knows nothing of Node-RED, so it is tested on its own.
 */
import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { deviceOf, fingerprintModel, RedactionEngine, resolveModelFiles, type RedactionEngineOptions } from '../../engine';
import { CodedError } from '../../common/coded-error';
import { verifyModelFolder } from '../../models/verify';

/** A job whose calls stay on one engine until it finishes or fails (a video: every frame on the same models). */
export interface EnginePin {
  once(event: 'finish' | 'fail', listener: () => void): unknown;
}

/**
 * 'ready': SAM 3 loaded (and the bundled detectors); 'no-sam3': no usable
 * SAM 3, but the bundled detectors (faces, text) work; 'missing': nothing is
 * there to load; 'error': nothing could be loaded.
 */
export type ModelState = 'idle' | 'loading' | 'ready' | 'no-sam3' | 'missing' | 'error';

/**
 * What a flow finds when it names no prompts: what a privacy tool hides by
 * default, of what the installed models can find. Without SAM 3, the bundled
 * detectors' (the editor's rows for a new node are these).
 */
export const DEFAULT_PROMPTS_WITH_SAM3 = 'face, license plate, text';
export const DEFAULT_PROMPTS_BUNDLED = 'face, license plate, text';

type EngineOptions = RedactionEngineOptions & { modelDir: string };
export type StateListener = (state: ModelState, detail: string) => void;

export interface SharedEngineLimits {
  /** Calls that may wait (for the model or for a free slot) before new ones are refused. */
  maxQueued: number;
  /** Calls handed to the engine at once: 2 lets one image decode while another is inferred. */
  maxConcurrent: number;
  /** After a failed load, how long before a new call tries loading again. */
  retryAfterMs: number;
  /** Quiet time after the last change in the model folder before it is checked (a fetch renames once; a copy writes for a while). */
  watchDebounceMs: number;
}

export const DEFAULT_LIMITS: SharedEngineLimits = { maxQueued: 100, maxConcurrent: 2, retryAfterMs: 10_000, watchDebounceMs: 2_000 };

/** Why a model is 'missing' (not there, or half there) rather than broken. */
const MISSING_CODES = new Set(['MODEL_NOT_CONFIGURED', 'MODEL_FOLDER_MISSING', 'MODEL_FOLDER_INCOMPLETE', 'MODEL_FILES_MISSING']);

export class QueueFullError extends Error {
  readonly code = 'QUEUE_FULL';
  constructor(limit: number) {
    super(`SAM 3 queue is full (${limit} waiting): the message was refused, not dropped silently; slow the input or raise the limit`);
    this.name = 'QueueFullError';
  }
}

export class SharedEngine {
  private readonly users = new Map<string, StateListener>();
  private loading: Promise<RedactionEngine> | undefined;
  private engine: RedactionEngine | undefined;
  private failedAt = 0;
  private lastError: Error | undefined;
  private running = 0;
  private queued = 0;
  private readonly waiting: Array<() => void> = [];
  private closing: Promise<void> | undefined;
  state: ModelState = 'idle';
  detail = '';
  /** Told of every state change, without counting as a user (the config node logs through it). */
  onChange: StateListener | undefined;
  /** Told what the folder watch did (a model appeared, was loaded, or did not pass the check): for the log. */
  onNote: ((message: string) => void) | undefined;
  /** Calls running and video jobs pinned, per engine: an engine swapped out is closed when it has none. */
  private readonly holds = new Map<RedactionEngine, number>();
  private readonly pins = new Map<EnginePin, RedactionEngine>();
  private readonly retiring = new Set<RedactionEngine>();
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private rechecking: Promise<void> | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly limits: SharedEngineLimits = DEFAULT_LIMITS,
    private readonly load: (o: EngineOptions) => Promise<RedactionEngine> = (o) => RedactionEngine.load(o),
  ) {}

  get modelDir(): string {
    return this.options.modelDir;
  }

  /**
   * The prompts used when neither the node nor the message names any:
   * "face, license plate, text", less any that no loaded backend answers.
   */
  get defaultPrompts(): string {
    const engine = this.engine;
    if (!engine) return DEFAULT_PROMPTS_BUNDLED;
    if (engine.sam3) return DEFAULT_PROMPTS_WITH_SAM3;
    // Of the defaults, those a loaded backend answers.
    return DEFAULT_PROMPTS_BUNDLED.split(', ').filter((p) => {
      try {
        engine.route(p);
        return true;
      } catch {
        return false;
      }
    }).join(', ');
  }

  /** The backends the loaded engine serves ('face', 'ocr', 'objects', 'plates', 'sam3'); none before it loads. */
  get loadedBackends(): string[] {
    const backends = this.engine?.capabilities().backends ?? {};
    return Object.keys(backends).filter((name) => backends[name].loaded);
  }

  /** The loaded engine, if any (for its model identity). */
  get current(): RedactionEngine | undefined {
    return this.engine;
  }

  addUser(id: string, listener: StateListener): void {
    this.users.set(id, listener);
    listener(this.state, this.detail);
    if (this.users.size === 1) void this.ensureLoaded().catch(() => undefined);
  }

  /** Removes a user; the last one out closes the engine and its host process. */
  async removeUser(id: string): Promise<void> {
    this.users.delete(id);
    if (this.users.size === 0) await this.close();
  }

  /**
   * Runs `fn` on the engine once it is loaded and a slot is free. With a
   * `pin` (a video job), every call of that job runs on the engine its first
   * call got, until the job finishes or fails, even if a new model is swapped
   * in meanwhile.
   */
  async run<T>(fn: (engine: RedactionEngine) => Promise<T>, pin?: EnginePin): Promise<T> {
    if (this.queued >= this.limits.maxQueued) throw new QueueFullError(this.limits.maxQueued);
    this.queued++;
    let engine: RedactionEngine;
    try {
      engine = (pin && this.pins.get(pin)) || (await this.ensureLoaded());
      if (pin && !this.pins.has(pin)) this.pinTo(pin, engine);
      while (this.running >= this.limits.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    } finally {
      this.queued--;
    }
    this.running++;
    this.hold(engine);
    try {
      return await fn(engine);
    } finally {
      this.unhold(engine);
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private pinTo(pin: EnginePin, engine: RedactionEngine): void {
    this.pins.set(pin, engine);
    this.hold(engine);
    let done = false;
    const unpin = (): void => {
      if (done) return;
      done = true;
      this.pins.delete(pin);
      this.unhold(engine);
    };
    pin.once('finish', unpin);
    pin.once('fail', unpin);
  }

  private hold(engine: RedactionEngine): void {
    this.holds.set(engine, (this.holds.get(engine) ?? 0) + 1);
  }

  private unhold(engine: RedactionEngine): void {
    const n = (this.holds.get(engine) ?? 1) - 1;
    if (n > 0) return void this.holds.set(engine, n);
    this.holds.delete(engine);
    if (this.retiring.delete(engine)) void engine.close();
  }

  /** Calls running on the engine, and calls waiting for the model or a slot. */
  get activity(): { running: number; queued: number } {
    return { running: this.running, queued: this.queued };
  }

  private ensureLoaded(): Promise<RedactionEngine> {
    if (this.engine) return Promise.resolve(this.engine);
    if (this.loading) return this.loading;
    if (this.lastError && Date.now() - this.failedAt < this.limits.retryAfterMs) return Promise.reject(this.lastError);
    this.setState('loading', this.options.modelDir);
    const loading = this.load(this.options).then(
      (engine) => {
        if (this.loading !== loading) {
          // Closed while loading: nobody wants it any more.
          void engine.close();
          throw new CodedError('MODEL_UNLOADED', 'SAM 3 model was unloaded while it loaded');
        }
        const caps = engine.capabilities();
        if (!Object.values(caps.backends).some((b) => b.loaded)) {
          // Nothing to serve with: every call would fail, so the load counts as failed.
          void engine.close();
          throw new CodedError(caps.backends.sam3?.code ?? 'MODEL_NOT_LOADED', `${caps.sam3Reason ?? 'SAM 3 is not loaded'}; and the text detector: ${caps.textReason ?? 'not loaded'}`);
        }
        this.engine = engine;
        this.loading = undefined;
        this.lastError = undefined;
        if (engine.sam3) this.setState('ready', engine.sam3.files.variant || 'fp32');
        else this.setState('no-sam3', caps.sam3Reason ?? 'SAM 3 is not loaded');
        this.watchFolder();
        return engine;
      },
      (err: Error) => {
        if (this.loading === loading) this.loading = undefined;
        this.lastError = err;
        this.failedAt = Date.now();
        // A model folder that is not there (or half there) is 'missing'; anything else is an error.
        const missing = MISSING_CODES.has((err as Error & { code?: string }).code ?? '');
        this.setState(missing ? 'missing' : 'error', err.message);
        throw err;
      },
    );
    this.loading = loading;
    return loading;
  }

  private setState(state: ModelState, detail: string): void {
    this.state = state;
    this.detail = detail;
    this.onChange?.(state, detail);
    for (const listener of this.users.values()) listener(state, detail);
  }

  /**
   * Watches the model folder and the folders above it up to the first that
   * exists (the folder may not be there yet), so that a model fetched while
   * Node-RED runs is seen. Re-armed after each change: a folder that appears
   * is watched too.
   */
  private watchFolder(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (!this.options.modelDir || this.users.size === 0) return;
    const dir = path.resolve(this.options.modelDir);
    const onChange = (): void => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.recheck(), this.limits.watchDebounceMs);
      this.debounce.unref();
    };
    for (let d = dir; ; d = path.dirname(d)) {
      try {
        const w = watch(d, onChange);
        w.on('error', () => undefined);
        this.watchers.push(w);
        if (d !== dir) break;
      } catch {
        // Not there (yet): watch the folder above it.
      }
      if (path.dirname(d) === d) break;
    }
  }

  /** After a change in the folder: a model that passes the check and is not the one loaded is loaded and swapped in. */
  private recheck(): Promise<void> {
    if (this.rechecking) return this.rechecking;
    this.rechecking = this.swapIfNew().finally(() => {
      this.rechecking = undefined;
    });
    return this.rechecking;
  }

  private async swapIfNew(): Promise<void> {
    this.watchFolder();
    const current = this.engine;
    const dir = this.options.modelDir;
    if (!current || !dir || this.closing) return;
    let variant: string;
    let id: string;
    try {
      const files = await resolveModelFiles(dir, this.options.variant, deviceOf(this.options.executionProviders));
      variant = files.variant;
      id = await fingerprintModel(files);
    } catch {
      // Not (yet) a complete model: nothing to load; what is loaded stays.
      return;
    }
    if (current.sam3?.modelId === id) return;
    const check = await verifyModelFolder(dir, variant);
    if (!check.ok) {
      this.onNote?.(`a SAM 3 model in ${dir} was not loaded: ${check.problems.join('; ')}`);
      return;
    }
    this.onNote?.(`a ${current.sam3 ? 'new ' : ''}SAM 3 model in ${dir} passed the check: loading it; work already running finishes on the models it started with`);
    let next: RedactionEngine;
    try {
      next = await this.load(this.options);
    } catch (err) {
      this.onNote?.(`the SAM 3 model in ${dir} could not be loaded: ${(err as Error).message}`);
      return;
    }
    if (this.engine !== current || this.closing || !next.sam3) {
      if (!next.sam3) this.onNote?.(`the SAM 3 model in ${dir} could not be loaded: ${next.capabilities().sam3Reason ?? 'unknown reason'}`);
      await next.close();
      return;
    }
    this.engine = next;
    if (this.holds.has(current)) this.retiring.add(current);
    else void current.close();
    this.setState('ready', next.sam3.files.variant || 'fp32');
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const engine = this.engine;
    const retired = [...this.retiring];
    this.retiring.clear();
    this.pins.clear();
    this.holds.clear();
    this.engine = undefined;
    this.loading = undefined;
    this.state = 'idle';
    this.closing = Promise.all([engine?.close(), ...retired.map((e) => e.close())]).then(() => undefined).finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }
}
