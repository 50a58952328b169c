/**
 * SAM 3 as a backend, on the engine's side: finds and checks the model folder
 * against the contract (docs/sam3-onnx-contract.md), answers any phrase,
 * cuts the model-sized views (the whole image, and tiles when asked) from the
 * one decoded image, and asks its host side for instances.
 */
import * as path from 'node:path';
import type { Backend, PromptSpec, TilesOption } from '../backend';
import { checkThreshold } from '../prompts';
import { FACE_PROMPTS, OBJECT_PROMPTS, PLATE_PROMPTS, TEXT_PROMPTS } from '../../common/concepts';
import { deviceOf, fingerprintModel, MODEL_HELP, ModelFolderError, resolveModelFiles, type ModelFiles } from './model-folder';
import type { LoadSpec, ModelInfo, Sam3Ops } from './protocol';
import { planTiles } from '../tiling';

export const DEFAULT_THRESHOLD = 0.3;

export interface Sam3LoadOptions {
  /** The SAM 3 model folder; without it SAM 3 is not loaded (text still works). */
  modelDir?: string;
  /** Precision variant: 'fp32', 'fp16', 'q8', ...; blank: q8 (else fp32) on a CPU, fp16 on a GPU (preferredVariant). */
  variant?: string;
  /** onnxruntime execution providers in order of preference; default ['cpu']. */
  executionProviders?: string[];
  /** Intra-op threads for onnxruntime; default: onnxruntime's own choice. */
  threads?: number;
  /** Distinct prompts whose text features are kept (default 256). */
  textCacheSize?: number;
}

export interface Sam3CallOptions {
  /** Score threshold for prompts without their own (default 0.3: a privacy tool errs towards recall). */
  threshold?: number;
  /** Tiles along the longer side for small objects (0/1 = off), or 'auto'. */
  tiles?: TilesOption;
}

/** What the inference host needs to load a resolved SAM 3 folder. */
export function sam3LoadSpec(files: ModelFiles, options: Sam3LoadOptions): LoadSpec {
  const providers = options.executionProviders?.length ? options.executionProviders : ['cpu'];
  return {
    layout: files.layout,
    graphs: files.graphs,
    tokenizer: files.tokenizer,
    tokenizerConfig: files.tokenizerConfig,
    config: files.config,
    executionProviders: providers.map((p) => p.toLowerCase()),
    threads: options.threads,
    textCacheSize: options.textCacheSize ?? 256,
  };
}

const quoted = (labels: readonly string[]): string => labels.map((l) => `"${l}"`).join(', ');

export const sam3Backend: Backend<ModelInfo, Sam3LoadOptions, Sam3CallOptions> = {
  name: 'sam3',
  title: 'the SAM 3 model',
  process: 'sam3',
  // Any phrase: SAM 3 is the backend of last resort.
  answers: () => true,
  threshold: (o) => checkThreshold('threshold', o.threshold ?? DEFAULT_THRESHOLD),
  scoreFloor: (info) =>
    info?.scoreFloor === undefined
      ? undefined
      : { threshold: info.scoreFloor, why: `this SAM 3 export (${info.layout}) keeps only scores above ${info.scoreFloor} inside its decoder` },

  async prepare(o) {
    if (!o.modelDir) return { ok: false, reason: 'no SAM 3 model folder was given', code: 'MODEL_NOT_CONFIGURED' };
    try {
      const files = await resolveModelFiles(o.modelDir, o.variant, deviceOf(o.executionProviders));
      return {
        ok: true,
        load: { module: path.join(__dirname, 'host.js'), spec: sam3LoadSpec(files, o), title: 'the SAM 3 model' },
        identity: () => fingerprintModel(files),
        folder: files.dir,
        details: files,
      };
    } catch (err) {
      if (!(err instanceof ModelFolderError)) throw err;
      return { ok: false, reason: err.message, folder: path.resolve(o.modelDir), code: err.code };
    }
  },

  async run(ctx, view, prompts: PromptSpec[], loaded) {
    const { imageSize } = loaded.info;
    const regions = planTiles(view.width, view.height, ctx.options.tiles, imageSize);
    const t0 = performance.now();
    const tiles = await Promise.all(regions.map(async (region) => ({ region, rgb: await view.view(region, imageSize) })));
    const resizeMs = performance.now() - t0;
    const reply = await ctx.host.calls<Sam3Ops>('sam3').call('segment', { width: view.width, height: view.height, tiles, prompts }, 'segmenting an image');
    return {
      instances: reply.instances,
      timings: { ...reply.timings, preprocessMs: reply.timings.preprocessMs + resizeMs, tiles: regions.length - 1 },
    };
  },

  unavailable(prompts, reason, folder) {
    const what = prompts.length ? `${quoted(prompts)} need${prompts.length === 1 ? 's' : ''}` : 'this needs';
    const why = reason.replace(MODEL_HELP, '').trim().replace(/\.$/, '');
    // The folder is named once: folder errors already carry it.
    const where = folder && !why.includes(folder) ? ` Looked for it in ${folder}.` : '';
    return `${what} the SAM 3 model, which is not loaded: ${why}.${where} ${MODEL_HELP} ` +
      `Without SAM 3 the bundled detectors find faces (prompts ${quoted([...FACE_PROMPTS])}), people and vehicles (${quoted([...OBJECT_PROMPTS])}), ` +
      `number plates (${quoted([...PLATE_PROMPTS])}) and text (${quoted([...TEXT_PROMPTS])}).`;
  },
};
