/**
 * The face detector's side of the inference host: loads the model and
 * answers detect jobs (passes of one image) with one instance per face and
 * prompt. Runs in the host process only (see host/host-process.ts).
 */
import * as ort from 'onnxruntime-node';
import { CodedError } from '../../common/coded-error';
import type { HostSide } from '../host/protocol';
import { toInstances, type RawInstance } from '../instances';
import { openDetector, inputShape, planarTensor, runPasses } from '../host/detector-session';
import { candidates, faceEllipse, oneBoxPerFace } from './boxes';
import type { FaceJob, FaceLoadSpec, FaceModelInfo, FaceReply } from './protocol';

let session: ort.InferenceSession | undefined;
let info: FaceModelInfo | undefined;

async function release(): Promise<void> {
  const old = session;
  session = undefined;
  await old?.release();
}

async function load(spec: FaceLoadSpec): Promise<FaceModelInfo> {
  await release();
  const s = await openDetector(spec);
  const [, channels, h, w] = inputShape(s);
  if (s.inputNames[0] !== 'input' || channels !== 3 || typeof h !== 'number' || typeof w !== 'number' || !s.outputNames.includes('scores') || !s.outputNames.includes('boxes')) {
    await s.release();
    throw new CodedError('MODEL_CONTRACT_MISMATCH', `${spec.model} is not an UltraFace-style detector (input "input" [1, 3, H, W], outputs "scores" and "boxes")`);
  }
  session = s;
  info = { inputWidth: w, inputHeight: h, executionProviders: spec.executionProviders };
  return info;
}

/** As the model was trained: RGB, (x - 127) / 128. */
const MEAN = [127, 127, 127];
const STD = [128, 128, 128];

async function detect(job: FaceJob): Promise<FaceReply> {
  const model = info;
  if (!session || !model) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no face model loaded');
  const { found, timings: t } = await runPasses(
    session,
    job.passes,
    (pass) => ({ input: planarTensor(pass.rgb, model.inputWidth, model.inputHeight, MEAN, STD, 'rgb') }),
    (out, pass) => candidates(out.scores.data as Float32Array, out.boxes.data as Float32Array, pass.region, pass.threshold, pass.inner),
  );
  const t0 = performance.now();
  const raw: RawInstance[] = [];
  for (const face of oneBoxPerFace(found)) {
    const shape = faceEllipse(face.box, job.grow, job.width, job.height);
    if (!shape) continue;
    for (const p of job.prompts) if (face.score >= p.threshold) raw.push({ label: p.label, score: face.score, box: shape.box, mask: shape.mask, source: 0 });
  }
  const instances = toInstances(raw, job.width, job.height);
  return { instances, timings: { preprocessMs: t.preprocessMs, faceMs: t.inferMs, facePasses: t.passes, postprocessMs: t.postprocessMs + performance.now() - t0 } };
}

export const hostSide: HostSide = {
  load: (spec) => load(spec as FaceLoadSpec),
  ops: { detect },
  release,
};
