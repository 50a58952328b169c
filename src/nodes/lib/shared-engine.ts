/**
 * One engine shared by every node that uses a sam3-model config node: SAM 3
 * when its model is there, and the bundled text detector. Loaded on the first
 * user, closed after the last; work that arrives while it loads waits in a
 * bounded queue; a bounded number of calls run at once. Knows nothing of
 * Node-RED, so it is tested on its own.
 */
import { RedactionEngine, type RedactionEngineOptions } from '../../engine';
import { CodedError } from '../../common/coded-error';

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
}

export const DEFAULT_LIMITS: SharedEngineLimits = { maxQueued: 100, maxConcurrent: 2, retryAfterMs: 10_000 };

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

  /** Runs `fn` on the engine once it is loaded and a slot is free. */
  async run<T>(fn: (engine: RedactionEngine) => Promise<T>): Promise<T> {
    if (this.queued >= this.limits.maxQueued) throw new QueueFullError(this.limits.maxQueued);
    this.queued++;
    let engine: RedactionEngine;
    try {
      engine = await this.ensureLoaded();
      while (this.running >= this.limits.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    } finally {
      this.queued--;
    }
    this.running++;
    try {
      return await fn(engine);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
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

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    const engine = this.engine;
    this.engine = undefined;
    this.loading = undefined;
    this.state = 'idle';
    this.closing = (engine ? engine.close() : Promise.resolve()).finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }
}
