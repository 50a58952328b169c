/**
 * The public SAM 3 engine: an image and a list of text prompts in, instance
 * masks out. Usable without Node-RED.
 */
import type { ImageInput, Instance } from '../common/types';
import type { HostTimings, ModelInfo, PromptSpec } from './host-protocol';
import { decodeImage, DEFAULT_MAX_PIXELS } from './image-input';
import { InferenceHost } from './inference-host';
import { fingerprintModel, resolveModelFiles, type ModelFiles } from './model-folder';
import { planTiles, type TilesOption } from './tiles';

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
  /** Distinct prompts whose text features are kept (default 256). */
  textCacheSize?: number;
}

/** A prompt: its text, and optionally its own score threshold. */
export type Prompt = string | { text: string; threshold?: number };

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

/** Splits "face, license plate" or a list of prompts into prompt specs, validated. */
export function parsePrompts(prompts: Prompt[] | string, defaultThreshold: number): PromptSpec[] {
  const list: Prompt[] = typeof prompts === 'string' ? prompts.split(',') : prompts;
  if (!Array.isArray(list)) throw new TypeError('prompts must be a string like "face, license plate" or an array of prompts');
  const specs: PromptSpec[] = [];
  for (const p of list) {
    const text = typeof p === 'string' ? p : p && typeof p === 'object' ? p.text : undefined;
    if (typeof text !== 'string') throw new TypeError(`each prompt must be a string or { text, threshold }, got ${JSON.stringify(p)}`);
    const label = text.trim().replace(/\s+/g, ' ');
    if (!label) continue;
    const threshold = typeof p === 'object' && p.threshold !== undefined ? p.threshold : defaultThreshold;
    if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
      throw new RangeError(`threshold for "${label}" must be a number from 0 to 1, got ${String(threshold)}`);
    }
    if (!specs.some((s) => s.label === label)) specs.push({ text: label, label, threshold });
  }
  if (specs.length === 0) throw new Error('no prompt given: say what to find, e.g. "face, license plate"');
  return specs;
}

export class Sam3Engine {
  private constructor(
    readonly files: ModelFiles,
    readonly modelId: string,
    readonly info: ModelInfo,
    /** The inference host; exposed for diagnostics and fault tests. */
    readonly host: InferenceHost,
    private readonly maxPixels: number,
  ) {}

  /** Checks the model folder against the contract and loads it in a new inference host. */
  static async load(options: EngineOptions): Promise<Sam3Engine> {
    if (!options || typeof options.modelDir !== 'string' || !options.modelDir) {
      throw new TypeError('Sam3Engine.load needs { modelDir }: the folder holding the SAM 3 ONNX files');
    }
    const files = await resolveModelFiles(options.modelDir, options.variant);
    const providers = options.executionProviders?.length ? options.executionProviders : ['cpu'];
    const host = new InferenceHost({
      graphs: files.graphs,
      tokenizer: files.tokenizer,
      tokenizerConfig: files.tokenizerConfig,
      config: files.config,
      executionProviders: providers.map((p) => p.toLowerCase()),
      threads: options.threads,
      textCacheSize: options.textCacheSize ?? 256,
    });
    try {
      const [info, modelId] = await Promise.all([host.start(), fingerprintModel(files)]);
      return new Sam3Engine(files, modelId, info, host, options.maxPixels ?? DEFAULT_MAX_PIXELS);
    } catch (err) {
      await host.close();
      throw err;
    }
  }

  async segment(image: ImageInput, prompts: Prompt[] | string, options: SegmentOptions = {}): Promise<SegmentResult> {
    const t0 = performance.now();
    const specs = parsePrompts(prompts, options.threshold ?? DEFAULT_THRESHOLD);
    const decoded = await decodeImage(image, this.maxPixels);
    const decodeMs = performance.now() - t0;
    const size = this.info.imageSize;
    const regions = planTiles(decoded.width, decoded.height, options.tiles, size);
    const t1 = performance.now();
    const tiles = await Promise.all(regions.map(async (region) => ({ region, rgb: await decoded.view(region, size) })));
    const resizeMs = performance.now() - t1;
    const reply = await this.host.segment({ width: decoded.width, height: decoded.height, tiles, prompts: specs });
    return {
      width: decoded.width,
      height: decoded.height,
      instances: reply.instances,
      timings: {
        ...reply.timings,
        preprocessMs: reply.timings.preprocessMs + resizeMs,
        decodeMs,
        totalMs: performance.now() - t0,
        tiles: regions.length - 1,
      },
    };
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}
