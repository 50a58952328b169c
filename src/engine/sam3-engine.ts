/**
 * The public SAM 3 engine: an image and a list of text prompts in, instance
 * masks out. Usable without Node-RED. RedactionEngine builds on the same
 * pieces and adds the bundled text detector.
 */
import type { ImageInput, Instance } from '../common/types';
import type { HostTimings, LoadSpec, ModelInfo } from './host-protocol';
import { decodeViews } from './image-input';
import { InferenceHost } from './inference-host';
import { fingerprintModel, resolveModelFiles, type ModelFiles } from './model-folder';
import { parsePrompts, type Prompt } from './prompts';
import { runSam3 } from './sam3-backend';
import { mergeViews } from './view-merge';
import type { TilesOption } from './tiles';

export const DEFAULT_THRESHOLD = 0.3;

export interface EngineOptions {
  modelDir: string;
  /** Precision variant: '' / undefined for the best complete one, or 'fp16', 'q4f16', ... */
  variant?: string;
  /** onnxruntime execution providers in order of preference; default ['cpu']. */
  executionProviders?: string[];
  /** Intra-op threads for onnxruntime; default: onnxruntime's own choice. */
  threads?: number;
  /** Largest image accepted, in pixels (default 100 million). */
  maxPixels?: number;
  /** Largest encoded image accepted, in bytes (default 256 MiB); a file over it is refused unread. */
  maxBytes?: number;
  /** Distinct prompts whose text features are kept (default 256). */
  textCacheSize?: number;
}

export interface SegmentOptions {
  /** Score threshold for prompts without their own (default 0.3: a privacy tool errs towards recall). */
  threshold?: number;
  /** Tiles along the longer side for small objects (0/1 = off), or 'auto'. */
  tiles?: TilesOption;
}

export interface SegmentTimings extends HostTimings {
  decodeMs: number;
  totalMs: number;
  tiles: number;
}

export interface SegmentResult {
  width: number;
  height: number;
  instances: Instance[];
  timings: SegmentTimings;
}

/** What the inference host needs to load a resolved SAM 3 folder. */
export function sam3LoadSpec(files: ModelFiles, options: Omit<EngineOptions, 'modelDir'>): LoadSpec {
  const providers = options.executionProviders?.length ? options.executionProviders : ['cpu'];
  return {
    graphs: files.graphs,
    tokenizer: files.tokenizer,
    tokenizerConfig: files.tokenizerConfig,
    config: files.config,
    executionProviders: providers.map((p) => p.toLowerCase()),
    threads: options.threads,
    textCacheSize: options.textCacheSize ?? 256,
  };
}

export class Sam3Engine {
  private constructor(
    readonly files: ModelFiles,
    readonly modelId: string,
    readonly info: ModelInfo,
    /** The inference host; exposed for diagnostics and fault tests. */
    readonly host: InferenceHost,
    private readonly limits: { maxPixels?: number; maxBytes?: number },
  ) {}

  /** Checks the model folder against the contract and loads it in a new inference host. */
  static async load(options: EngineOptions): Promise<Sam3Engine> {
    if (!options || typeof options.modelDir !== 'string' || !options.modelDir) {
      throw new TypeError('Sam3Engine.load needs { modelDir }: the folder holding the SAM 3 ONNX files');
    }
    const files = await resolveModelFiles(options.modelDir, options.variant);
    const host = new InferenceHost({ sam3: sam3LoadSpec(files, options) });
    try {
      const [info, modelId] = await Promise.all([host.start(), fingerprintModel(files)]);
      if (!info.sam3) throw new Error('the inference host did not report the SAM 3 model it loaded');
      return new Sam3Engine(files, modelId, info.sam3, host, { maxPixels: options.maxPixels, maxBytes: options.maxBytes });
    } catch (err) {
      await host.close();
      throw err;
    }
  }

  async segment(image: ImageInput, prompts: Prompt[] | string, options: SegmentOptions = {}): Promise<SegmentResult> {
    const t0 = performance.now();
    const specs = parsePrompts(prompts, options.threshold ?? DEFAULT_THRESHOLD);
    const views = await decodeViews(image, this.limits);
    const decodeMs = performance.now() - t0;
    const runs = [];
    for (const view of views) runs.push(await runSam3(this.host, this.info.imageSize, view, specs, options.tiles));
    const timings = { ...runs[0].timings };
    for (const r of runs.slice(1)) for (const k of Object.keys(timings) as Array<keyof typeof timings>) timings[k] += r.timings[k];
    return {
      width: views[0].width,
      height: views[0].height,
      instances: mergeViews(runs.map((r) => r.instances)),
      timings: { ...timings, decodeMs, totalMs: performance.now() - t0 },
    };
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}
