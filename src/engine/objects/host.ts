/**
 * The person and vehicle detector's side of the inference host: loads the
 * model and answers detect jobs (passes of one image) with one box instance
 * per object and prompt. Runs in the host process only.
 */
import * as ort from 'onnxruntime-node';
import { CodedError } from '../../common/coded-error';
import { mergeOverlapping } from '../box-merge';
import type { HostSide } from '../host/protocol';
import { toInstances, type RawInstance } from '../instances';
import { openDetector, inputShape, PlanarTensors, runPasses } from '../host/detector-session';
import { boxFill, growBox } from '../../common/boxes';
import { cellCount, decodePass, type DetectorLayout } from './decode';
import type { ObjectJob, ObjectLoadSpec, ObjectModelInfo, ObjectReply } from './protocol';

/** NanoDet's training normalisation: BGR order, ImageNet means and deviations in 0..255. */
const MEAN = [103.53, 116.28, 123.675];
const STD = [57.375, 57.12, 58.395];
const STRIDES = [8, 16, 32];
/**
 * Boxes of one prompt overlapping this much are one object, kept as their
 * union: NanoDet's own NMS threshold, and no box is dropped without its
 * area being covered by the one kept (a person half behind another is not
 * lost to suppression).
 */
const SAME_OBJECT = 0.6;

let session: ort.InferenceSession | undefined;
let info: ObjectModelInfo | undefined;

async function release(): Promise<void> {
  const old = session;
  session = undefined;
  await old?.release();
}

function outputShape(s: ort.InferenceSession, name: string): readonly (number | string)[] {
  const meta = s.outputMetadata[s.outputNames.indexOf(name)];
  return meta && 'shape' in meta ? meta.shape : [];
}

async function load(spec: ObjectLoadSpec): Promise<ObjectModelInfo> {
  await release();
  const s = await openDetector(spec);
  const [, channels, h, w] = inputShape(s);
  const scores = outputShape(s, 'scores');
  const distances = outputShape(s, 'distances');
  const ok = s.inputNames[0] === 'input' && channels === 3 && typeof h === 'number' && typeof w === 'number' && typeof scores[2] === 'number' && typeof distances[2] === 'number';
  const layout: DetectorLayout | undefined = ok
    ? { inputWidth: w, inputHeight: h, classes: scores[2] as number, bins: (distances[2] as number) / 4, strides: STRIDES }
    : undefined;
  if (!layout || !Number.isInteger(layout.bins) || layout.classes < 8 || scores[1] !== cellCount(layout) || distances[1] !== cellCount(layout)) {
    await s.release();
    throw new CodedError('MODEL_CONTRACT_MISMATCH', `${spec.model} is not a NanoDet-style detector (input "input" [1, 3, H, W], outputs "scores" [1, cells, 80] and "distances" [1, cells, 4 x bins] over strides 8, 16, 32)`);
  }
  session = s;
  info = { ...layout, executionProviders: spec.executionProviders };
  return info;
}

async function detect(job: ObjectJob): Promise<ObjectReply> {
  const model = info;
  if (!session || !model) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no person and vehicle model loaded');
  // The lowest threshold any prompt sets for each class: candidates are decoded once for all prompts.
  const thresholds = new Map<number, number>();
  for (const p of job.prompts) for (const c of p.classes) thresholds.set(c, Math.min(thresholds.get(c) ?? 1, p.threshold));
  const tensors = new PlanarTensors(model.inputWidth, model.inputHeight, MEAN, STD, 'bgr');
  const { found, timings: t } = await runPasses(
    session,
    job.passes,
    (pass, index) => ({ input: tensors.tensor(pass.rgb, model.inputWidth, 0, 0, index > 0) }),
    (out, pass) => decodePass(out.scores.data as Float32Array, out.distances.data as Float32Array, model, pass.region, thresholds, pass.inner),
  );
  const t0 = performance.now();
  const raw: RawInstance[] = [];
  for (const p of job.prompts) {
    const mine = found.filter((c) => p.classes.includes(c.cls) && c.score >= p.threshold);
    for (const obj of mergeOverlapping(mine, SAME_OBJECT, SAME_OBJECT)) {
      const box = growBox(obj.box, job.grow, job.grow, job.width, job.height);
      if (box) raw.push({ label: p.label, score: obj.score, box, mask: boxFill(box), source: 0 });
    }
  }
  const instances = toInstances(raw, job.width, job.height);
  return { instances, timings: { preprocessMs: t.preprocessMs, objectMs: t.inferMs, objectPasses: t.passes, postprocessMs: t.postprocessMs + performance.now() - t0 } };
}

export const hostSide: HostSide = {
  load: (spec) => load(spec as ObjectLoadSpec),
  ops: { detect },
  release,
};
