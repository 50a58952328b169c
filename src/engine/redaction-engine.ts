/**
 * The engine: an image and prompts in, instances out. It loads every
 * registered backend whose model is there (SAM 3 when its folder is given and
 * valid, the bundled text detector when installed, ...) into one inference
 * host process, routes each prompt to a backend, decodes each image once, and
 * merges what the backends found. A backend that is not loaded is recorded
 * with the reason, not thrown, so that what is there works on a fresh install.
 */
import type { ImageInput, Instance } from '../common/types';
import type { EngineSession, LoadedBackend, PromptSpec, RunContext } from './backend';
import { registeredBackends } from './backends';
import { InferenceHost } from './host/inference-host';
import { decodeImage, decodeViews, type DecodedImage } from './image-input';
import { ModelUnavailableError } from './model-unavailable';
import { readPrompts, toSpec, type Prompt } from './prompts';
import { checkTextBackendChoice, routePrompts, type RouteContext, type RoutedPrompt, type Sam3Joins, type TextBackendChoice } from './routing';
import type { FaceCallOptions, FaceLoadOptions } from './face/backend';
import type { ObjectCallOptions, ObjectLoadOptions } from './objects/backend';
import type { PlateCallOptions } from './plates/backend';
import type { Sam3CallOptions, Sam3LoadOptions } from './sam3/backend';
import type { ModelFiles } from './sam3/model-folder';
import type { HostTimings, ModelInfo } from './sam3/protocol';
import type { TextModelFiles } from './text/bundled-models';
import type { TextCallOptions, TextLoadOptions } from './text/backend';
import type { TextModelInfo } from './text/protocol';
import { verifyLines, type VerificationResult, type VerifyOptions } from './text/verify';
import { mergeViews } from './view-merge';
import { CodedError } from '../common/coded-error';

/** What the engine loads with: every backend's own options, and the image limits. */
export interface RedactionEngineOptions extends Sam3LoadOptions, TextLoadOptions, FaceLoadOptions, ObjectLoadOptions {
  /** Largest image accepted, in pixels (default 100 million). */
  maxPixels?: number;
  /** Largest encoded image accepted, in bytes (default 256 MiB); a file over it is refused unread. */
  maxBytes?: number;
}

export interface RedactionSegmentOptions extends Sam3CallOptions, TextCallOptions, FaceCallOptions, ObjectCallOptions, PlateCallOptions {
  /** Who answers "text" and its synonyms: 'auto' (default), 'ocr' or 'sam3'. */
  textBackend?: TextBackendChoice;
  /** When SAM 3 (if loaded) also answers face phrases: 'images' (default), 'images-and-video' or 'never'. */
  sam3Joins?: Sam3Joins;
  /** A photo (default) or a frame of a video: SAM 3 joins face phrases on frames only with 'images-and-video'. */
  media?: 'image' | 'video';
  /** Per-video state for backends that track (see EngineSession); absent for single images. */
  session?: EngineSession;
}

export interface RedactionTimings extends HostTimings {
  decodeMs: number;
  totalMs: number;
  /** SAM 3's tiles beyond the whole image. */
  tiles: number;
  /** Text detector inference, summed over its passes. */
  textDetectMs: number;
  /** Text detector passes (whole image plus tiles); 0 when no text prompt ran. */
  textPasses: number;
  /** Other backends' figures, by the names they report. */
  [figure: string]: number;
}

export interface RedactionSegmentResult {
  width: number;
  height: number;
  /** In prompt order; each instance says which backend found it. */
  instances: Instance[];
  timings: RedactionTimings;
  /** Which backends answered each prompt, with the threshold each used, by label: for the audit trail. */
  backends: Record<string, LabelBackend[]>;
}

export interface LabelBackend {
  backend: string;
  /** The threshold this backend used. */
  threshold: number;
  /** What the prompt asked for, when the model could not honour it (its export filters above it). */
  asked?: number;
  /** Why the threshold used is not the one asked for. */
  note?: string;
}

export interface EngineCapabilities {
  sam3: boolean;
  /** Why SAM 3 is not loaded. */
  sam3Reason?: string;
  text: boolean;
  /** Why the text detector is not loaded. */
  textReason?: string;
  /** Every registered backend: loaded, or why not. */
  backends: Record<string, { loaded: boolean; reason?: string; code?: string }>;
}

export interface LoadedSam3 {
  files: ModelFiles;
  modelId: string;
  info: ModelInfo;
}

export interface LoadedText {
  files: TextModelFiles;
  modelId: string;
  info: TextModelInfo;
}

const NO_TIMINGS: RedactionTimings = {
  preprocessMs: 0, visionMs: 0, textMs: 0, decoderMs: 0, postprocessMs: 0, visionPasses: 0, textEncodes: 0, decoderRuns: 0,
  decodeMs: 0, totalMs: 0, tiles: 0, textDetectMs: 0, textPasses: 0,
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The process every backend without its own shares. */
const MAIN = 'main';
/** What `host` gives an engine with no process at all: a host that was closed and starts nothing. */
const CLOSED_HOST = (() => {
  const h = new InferenceHost();
  void h.close();
  return h;
})();

export class RedactionEngine {
  protected constructor(
    /** The inference processes, by the process name of the backends they serve (see Backend.process). */
    readonly hosts: ReadonlyMap<string, InferenceHost>,
    private readonly loaded: ReadonlyMap<string, LoadedBackend>,
    private readonly missing: ReadonlyMap<string, { reason: string; folder?: string; code: string }>,
    /** The SAM 3 folder looked in, absolute, when one was given. */
    readonly modelDir: string | undefined,
    private readonly limits: { maxPixels?: number; maxBytes?: number },
  ) {}

  /**
   * Loads every registered backend whose model is there. One that is
   * missing or broken is recorded (see capabilities()), not thrown.
   */
  static async load(options: RedactionEngineOptions = {}): Promise<RedactionEngine> {
    if (options === null || typeof options !== 'object') throw new TypeError('RedactionEngine.load takes an options object');
    const hosts = new Map<string, InferenceHost>();
    const loaded = new Map<string, LoadedBackend>();
    const missing = new Map<string, { reason: string; folder?: string; code: string }>();
    // In registration order, one at a time: the host loads one model at a time anyway.
    for (const backend of registeredBackends()) {
      const prep = await backend.prepare(options);
      if (!prep.ok) {
        missing.set(backend.name, { reason: prep.reason, folder: prep.folder, code: prep.code });
        continue;
      }
      const load = prep.load;
      if (!load) {
        loaded.set(backend.name, { info: undefined, modelId: await prep.identity(), folder: prep.folder, details: prep.details });
        continue;
      }
      const group = backend.process ?? MAIN;
      const host = hosts.get(group) ?? new InferenceHost();
      hosts.set(group, host);
      try {
        const [info, modelId] = await Promise.all([host.add(backend.name, load), prep.identity()]);
        loaded.set(backend.name, { info, modelId, folder: prep.folder, details: prep.details });
      } catch (err) {
        missing.set(backend.name, { reason: `${load.title} could not be loaded: ${messageOf(err)}`, folder: prep.folder, code: 'MODEL_LOAD_FAILED' });
      }
    }
    // A process with nothing to serve is not kept waiting.
    for (const [group, host] of hosts) {
      if (host.models.length === 0) {
        await host.close();
        hosts.delete(group);
      }
    }
    const sam3Dir = loaded.get('sam3')?.folder ?? missing.get('sam3')?.folder;
    return new this(hosts, loaded, missing, sam3Dir, { maxPixels: options.maxPixels, maxBytes: options.maxBytes });
  }

  /** The inference process serving a backend. */
  hostFor(backend: string): InferenceHost | undefined {
    const b = registeredBackends().find((x) => x.name === backend);
    return this.hosts.get(b?.process ?? MAIN);
  }

  /** SAM 3's inference process when it is loaded, else the one every other backend shares; for diagnostics and fault tests. */
  get host(): InferenceHost {
    return this.hostFor('sam3') ?? this.hosts.get(MAIN) ?? CLOSED_HOST;
  }

  /** A loaded backend, by name. */
  backend(name: string): LoadedBackend | undefined {
    return this.loaded.get(name);
  }

  /** SAM 3, when loaded: its files, identity and what the host reported. */
  get sam3(): LoadedSam3 | undefined {
    const b = this.loaded.get('sam3');
    return b && { files: b.details as ModelFiles, modelId: b.modelId, info: b.info as ModelInfo };
  }

  /** The text detector and recogniser, when loaded. */
  get text(): LoadedText | undefined {
    const b = this.loaded.get('ocr');
    return b && { files: b.details as TextModelFiles, modelId: b.modelId, info: b.info as TextModelInfo };
  }

  capabilities(): EngineCapabilities {
    const backends: EngineCapabilities['backends'] = {};
    for (const b of registeredBackends()) {
      const m = this.missing.get(b.name);
      backends[b.name] = this.loaded.has(b.name) ? { loaded: true } : { loaded: false, reason: m?.reason ?? 'registered after the engine loaded', code: m?.code ?? 'MODEL_NOT_LOADED' };
    }
    const caps: EngineCapabilities = { sam3: this.loaded.has('sam3'), text: this.loaded.has('ocr'), backends };
    if (!caps.sam3) caps.sam3Reason = backends.sam3?.reason;
    if (!caps.text) caps.textReason = backends.ocr?.reason;
    return caps;
  }

  private unavailable(name: string, prompts: string[]): ModelUnavailableError {
    const backend = registeredBackends().find((b) => b.name === name);
    const why: { reason: string; folder?: string } = this.missing.get(name) ?? { reason: 'registered after the engine loaded' };
    const message = backend ? backend.unavailable(prompts, why.reason, why.folder) : `no backend named '${name}' is registered`;
    return new ModelUnavailableError(name, prompts, why.reason, message, why.folder);
  }

  /**
   * Which backend would answer each prompt; throws ModelUnavailableError when
   * a prompt needs a backend that is not loaded.
   */
  route(prompts: Prompt[] | string, textBackend?: TextBackendChoice | RouteContext): RoutedPrompt[] {
    const loaded = Object.fromEntries([...this.loaded.keys()].map((k) => [k, true]));
    const ctx: RouteContext = typeof textBackend === 'object' ? textBackend : { choice: textBackend };
    const routed = routePrompts(readPrompts(prompts), { ...ctx, choice: checkTextBackendChoice(ctx.choice) }, loaded);
    for (const name of new Set(routed.map((r) => r.backend))) {
      if (!this.loaded.has(name)) throw this.unavailable(name, routed.filter((r) => r.backend === name).map((r) => r.label));
    }
    return routed;
  }

  async segment(image: ImageInput, prompts: Prompt[] | string, options: RedactionSegmentOptions = {}): Promise<RedactionSegmentResult> {
    const t0 = performance.now();
    const routed = this.route(prompts, { choice: options.textBackend, sam3Joins: options.sam3Joins, media: options.media });
    const groups = new Map<string, PromptSpec[]>();
    const byLabel: Record<string, LabelBackend[]> = {};
    for (const r of routed) {
      for (const name of [r.backend, ...r.also]) {
        const backend = registeredBackends().find((b) => b.name === name);
        if (!backend) continue;
        // A prompt's own threshold is for the backend it names or is routed to; one that joins uses its own default.
        const spec = toSpec(name === r.backend ? r : { label: r.label }, backend.threshold(options));
        groups.set(name, [...(groups.get(name) ?? []), spec]);
        const floor = backend.scoreFloor?.(this.loaded.get(name)?.info);
        const used: LabelBackend = floor && floor.threshold > spec.threshold
          ? { backend: name, threshold: floor.threshold, asked: spec.threshold, note: floor.why }
          : { backend: name, threshold: spec.threshold };
        (byLabel[r.label] ??= []).push(used);
      }
    }
    // Two views of a translucent image (over white, over black), one otherwise.
    const views = await decodeViews(image, this.limits);
    const decodeMs = performance.now() - t0;
    // Each backend runs on each view; a backend that builds on another's answer shares its run.
    const timings: RedactionTimings = { ...NO_TIMINGS, decodeMs };
    const perView = await Promise.all(views.map((view) => this.runView(view, groups, options, timings)));
    const order = new Map(routed.map((r, i) => [r.label, i]));
    // Stable sort: each backend's own order is kept within a prompt.
    const instances = mergeViews(perView).sort((a, b) => (order.get(a.label) ?? 0) - (order.get(b.label) ?? 0));
    this.listHelpers(byLabel, instances, groups, options);
    timings.totalMs = performance.now() - t0;
    return {
      width: views[0].width,
      height: views[0].height,
      instances,
      timings,
      backends: byLabel,
    };
  }

  /**
   * A backend whose instances name another one that it asked for help (the
   * face detector's small heads, found by the person detector) lists that
   * one for the label too, with the threshold it asked for.
   */
  private listHelpers(byLabel: Record<string, LabelBackend[]>, instances: Instance[], groups: Map<string, PromptSpec[]>, options: RedactionSegmentOptions): void {
    for (const inst of instances) {
      const list = byLabel[inst.label];
      if (!list || !inst.backend || list.some((l) => l.backend === inst.backend)) continue;
      for (const l of [...list]) {
        const asker = registeredBackends().find((b) => b.name === l.backend);
        const asked = asker?.uses?.(groups.get(l.backend) ?? [], options).find((d) => d.backend === inst.backend);
        if (asked && asked.prompts.length) list.push({ backend: inst.backend, threshold: Math.min(...asked.prompts.map((p) => p.threshold)) });
      }
    }
  }

  /**
   * Every routed backend on one view, each run once: a backend that builds on
   * others (plates on vehicles and text) has its prompts folded into theirs
   * before anything runs, and reads its share of their one answer.
   */
  private async runView(view: DecodedImage, groups: Map<string, PromptSpec[]>, options: RedactionSegmentOptions, timings: RedactionTimings): Promise<Instance[]> {
    const plan = new Map<string, PromptSpec[]>();
    const add = (name: string, specs: PromptSpec[]): void => {
      const known = plan.get(name) ?? [];
      plan.set(name, [...known, ...specs.filter((s) => !known.some((k) => k.label === s.label))]);
    };
    for (const [name, specs] of groups) add(name, specs);
    // Dependencies of dependencies too, as far as they go.
    const asked = new Set<string>();
    for (let again = true; again;) {
      again = false;
      for (const [name, specs] of [...plan]) {
        if (asked.has(name)) continue;
        asked.add(name);
        again = true;
        const backend = registeredBackends().find((b) => b.name === name);
        for (const dep of backend?.uses?.(specs, options) ?? []) if (this.loaded.has(dep.backend)) add(dep.backend, dep.prompts);
      }
    }
    const runs = new Map<string, Promise<Instance[]>>();
    const runOf = (name: string): Promise<Instance[]> => {
      let run = runs.get(name);
      if (!run) {
        run = this.runBackend(name, view, plan.get(name) ?? [], options, timings, use);
        runs.set(name, run);
      }
      return run;
    };
    const only = (found: Instance[], specs: PromptSpec[]): Instance[] => {
      const labels = new Set(specs.map((s) => s.label));
      return found.filter((i) => labels.has(i.label));
    };
    const use = async (name: string, specs: PromptSpec[]): Promise<Instance[]> => {
      const planned = plan.get(name);
      if (!planned || specs.some((s) => !planned.some((p) => p.label === s.label))) {
        throw new CodedError('BACKEND_USE_UNDECLARED', `a backend asked ${name} for ${specs.map((s) => `"${s.label}"`).join(', ')} without declaring it in uses()`);
      }
      // Without their backend: what a run returns is its own, unless it names another on purpose (runBackend).
      return only(await runOf(name), specs).map((i) => {
        const inst = { ...i };
        delete inst.backend;
        return inst;
      });
    };
    const found = await Promise.all([...groups].map(async ([name, specs]) => only(await runOf(name), specs)));
    return found.flat();
  }

  private async runBackend(
    name: string,
    view: DecodedImage,
    specs: PromptSpec[],
    options: RedactionSegmentOptions,
    timings: RedactionTimings,
    use: (name: string, specs: PromptSpec[]) => Promise<Instance[]>,
  ): Promise<Instance[]> {
    const backend = registeredBackends().find((b) => b.name === name);
    const loaded = this.loaded.get(name);
    if (!backend || !loaded) throw this.unavailable(name, specs.map((s) => s.label));
    // A backend with no model of its own runs beside the others, in the shared process.
    const host = this.hostFor(name) ?? (loaded.info === undefined ? CLOSED_HOST : undefined);
    if (!host) throw this.unavailable(name, specs.map((s) => s.label));
    const ctx: RunContext<RedactionSegmentOptions> = {
      host,
      options,
      use,
      has: (other) => this.loaded.has(other),
      state: (init) => options.session?.stateOf(name, init),
    };
    const run = await backend.run(ctx, view, specs, loaded);
    for (const [k, v] of Object.entries(run.timings)) timings[k] = (timings[k] ?? 0) + v;
    // An instance names another backend only when the run says the other found it (the face detector's small heads: the person detector).
    return run.instances.map((i) => ({ ...i, backend: i.backend ?? name }));
  }

  /**
   * Reads each text instance in the original and the redacted image with the
   * recogniser (see text/verify.ts for the rule). Resolves with what was still
   * legible; assertIllegible() turns that into a StillLegibleError.
   */
  async verifyRedaction(original: ImageInput, redacted: ImageInput, instances: Instance[], options: VerifyOptions = {}): Promise<VerificationResult> {
    if (!this.loaded.has('ocr')) throw this.unavailable('ocr', []);
    if (!Array.isArray(instances)) throw new TypeError('verifyRedaction needs the instances that were redacted (an array)');
    const [a, b] = await Promise.all([decodeImage(original, this.limits), decodeImage(redacted, this.limits)]);
    const host = this.hostFor('ocr');
    if (!host) throw this.unavailable('ocr', []);
    return verifyLines(host, a, b, instances, options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
  }
}
