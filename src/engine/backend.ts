/**
 * What a detection backend is. Each backend is one folder under src/engine
 * (sam3/, text/, ...) holding both of its sides:
 *
 * - its engine side (this interface), in Node-RED's process: it finds and
 *   checks its model files, says which phrases it answers, cuts the views it
 *   wants from the one decoded image, and asks its host side for instances;
 * - its host side (host/protocol.ts HostSide), in the inference host process:
 *   it loads the onnxruntime sessions and serves its operations.
 *
 * A backend is registered with one line in backends.ts; the engine routes
 * each prompt to one, runs them, and merges their instances.
 */
import type { Instance } from '../common/types';
import type { InferenceHost, HostLoad } from './host/inference-host';
import type { DecodedImage } from './image-input';

export interface PromptSpec {
  /** Text given to the model (SAM 3's tokenizer). */
  text: string;
  /** Label the instances carry (the prompt as the user wrote it, trimmed). */
  label: string;
  threshold: number;
}

/** Tiles along an image's longer side for small objects (0 or 1: the whole image only), or 'auto'. */
export type TilesOption = number | 'auto' | undefined;

/** State a backend keeps across the calls of one video (tracks, the last frame's instances). */
export class EngineSession {
  private readonly states = new Map<string, unknown>();
  stateOf<T>(backend: string, init: () => T): T {
    if (!this.states.has(backend)) this.states.set(backend, init());
    return this.states.get(backend) as T;
  }
}

export interface RunContext<CallOptions = object> {
  readonly host: InferenceHost;
  /** The call's options; each backend reads its own part. */
  readonly options: CallOptions;
  /**
   * Another backend's instances for the same view, computed once per view
   * however many ask (plates use vehicles and text): a backend that builds on
   * another calls this rather than running it itself. They come without a
   * `backend`: what a run returns is credited to it, unless an instance
   * names another (the face backend's small heads name the person detector,
   * 'objects', and msg.segmentation lists it for the label).
   */
  use(backend: string, prompts: PromptSpec[]): Promise<Instance[]>;
  /** Whether a backend is loaded (and so whether use() can ask it). */
  has(backend: string): boolean;
  /** This backend's state for the call's session; undefined for a single image. */
  state<T>(init: () => T): T | undefined;
}

export interface BackendRun {
  instances: Instance[];
  /** Milliseconds and counts, named as in RedactionTimings; summed across views and backends by key. */
  timings: Record<string, number>;
}

/** A backend ready to load, or why it cannot be. */
export type Preparation =
  | {
      ok: true;
      /** What its host side loads; absent for a backend that only combines others' answers (plates). */
      load?: HostLoad;
      identity: () => Promise<string>;
      folder?: string;
      details?: unknown;
    }
  | {
      ok: false;
      reason: string;
      folder?: string;
      /** Why, as data (docs/errors.md): MODEL_NOT_CONFIGURED, MODEL_FOLDER_MISSING, MODEL_FOLDER_INCOMPLETE, ... */
      code: string;
    };

/** A loaded backend, as the engine keeps it. */
export interface LoadedBackend<Info = unknown> {
  /** What its host side reported when it loaded (sizes, precision, providers). */
  info: Info;
  /** sha256 of its model files: the audit trail's model identity. */
  modelId: string;
  /** Where its model lives, if it has a folder. */
  folder?: string;
  /** What prepare() found (e.g. SAM 3's resolved files). */
  details?: unknown;
}

/**
 * A backend, with the load options and per-call options it reads (the
 * engine's options are the union of every registered backend's).
 */
export interface Backend<Info = unknown, LoadOptions = object, CallOptions = object> {
  /** Recorded on each instance and in msg.segmentation.backends: 'sam3', 'ocr', ... */
  readonly name: string;
  /** How errors and logs name it: "the SAM 3 model", "the bundled text detector". */
  readonly title: string;
  /**
   * The inference process it runs in: backends that name the same one share
   * it (default 'main'). A model whose runs take seconds (SAM 3 on a CPU)
   * gets its own, so that it never stalls one that runs on every frame.
   */
  readonly process?: string;
  /** Whether SAM 3, when loaded, also answers its phrases (see SegmentCallOptions.sam3Joins): cover more. */
  readonly joinedBySam3?: boolean;
  /** Whether a phrase comes here unless the prompt or the call says otherwise. */
  answers(label: string): boolean;
  /** This call's threshold for prompts without their own, and the default. */
  threshold(options: CallOptions): number;
  /**
   * The lowest score the loaded model gives out at all, when it has one (an
   * export that filters inside): a prompt asking for less gets this, and
   * msg.segmentation and the audit say so.
   */
  scoreFloor?(info: Info): { threshold: number; why: string } | undefined;
  /** Finds and checks its model files: what to load into the host, or why it cannot be loaded. */
  prepare(options: LoadOptions): Promise<Preparation>;
  /**
   * What it will ask other backends for through RunContext.use(), declared
   * before anything runs: the engine folds these prompts into those
   * backends' own runs, so that each backend runs once per view however many
   * ask. Labels must be the asking backend's own (e.g. 'plates/text'), not a
   * user's; `text` is the phrase the other backend answers.
   */
  uses?(prompts: PromptSpec[], options: CallOptions): Array<{ backend: string; prompts: PromptSpec[] }>;
  /** Finds instances of `prompts` in one view of an image. */
  run(ctx: RunContext<CallOptions>, view: DecodedImage, prompts: PromptSpec[], loaded: LoadedBackend<Info>): Promise<BackendRun>;
  /** What to tell a user whose prompts need this backend while it is not loaded. */
  unavailable(prompts: string[], reason: string, folder?: string): string;
}
