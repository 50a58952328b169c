/**
 * The face detector's side of the inference host: loads the model and
 * answers detect jobs (passes of one image) with one instance per face and
 * prompt. Runs in the host process only (see host/host-process.ts).
 */
import * as ort from 'onnxruntime-node';
import { CodedError } from '../../common/coded-error';
import type { HostSide } from '../host/protocol';
import { toInstances, type RawInstance } from '../instances';
import { candidates, faceEllipse, oneBoxPerFace, type FaceCandidate } from './boxes';
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
  const s = await ort.InferenceSession.create(spec.model, {
    executionProviders: spec.executionProviders,
    // One thread: the model is small, and video frames keep ffmpeg busy on the other cores.
    intraOpNumThreads: spec.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const meta = s.inputMetadata[0];
  const shape = meta && 'shape' in meta ? meta.shape : [];
  const [, channels, h, w] = shape;
  if (s.inputNames[0] !== 'input' || channels !== 3 || typeof h !== 'number' || typeof w !== 'number' || !s.outputNames.includes('scores') || !s.outputNames.includes('boxes')) {
    await s.release();
    throw new CodedError('MODEL_CONTRACT_MISMATCH', `${spec.model} is not an UltraFace-style detector (input "input" [1, 3, H, W], outputs "scores" and "boxes")`);
  }
  session = s;
  info = { inputWidth: w, inputHeight: h, executionProviders: spec.executionProviders };
  return info;
}

/** RGB bytes -> CHW float32 as the model was trained: (x - 127) / 128. */
function toTensor(rgb: Uint8Array, width: number, height: number): ort.Tensor {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let i = 0, p = 0; p < plane; p++, i += 3) {
    out[p] = (rgb[i] - 127) / 128;
    out[plane + p] = (rgb[i + 1] - 127) / 128;
    out[2 * plane + p] = (rgb[i + 2] - 127) / 128;
  }
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

async function detect(job: FaceJob): Promise<FaceReply> {
  if (!session || !info) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no face model loaded');
  const timings = { preprocessMs: 0, faceMs: 0, facePasses: 0, postprocessMs: 0 };
  const found: FaceCandidate[] = [];
  for (const pass of job.passes) {
    let t0 = performance.now();
    const input = toTensor(pass.rgb, info.inputWidth, info.inputHeight);
    timings.preprocessMs += performance.now() - t0;
    t0 = performance.now();
    const out = await session.run({ input });
    timings.faceMs += performance.now() - t0;
    timings.facePasses++;
    t0 = performance.now();
    found.push(...candidates(out.scores.data as Float32Array, out.boxes.data as Float32Array, pass.region, pass.threshold, pass.inner));
    timings.postprocessMs += performance.now() - t0;
  }
  const t0 = performance.now();
  const raw: RawInstance[] = [];
  for (const face of oneBoxPerFace(found)) {
    const shape = faceEllipse(face.box, job.grow, job.width, job.height);
    if (!shape) continue;
    for (const p of job.prompts) if (face.score >= p.threshold) raw.push({ label: p.label, score: face.score, box: shape.box, mask: shape.mask, source: 0 });
  }
  const instances = toInstances(raw, job.width, job.height);
  timings.postprocessMs += performance.now() - t0;
  return { instances, timings };
}

export const hostSide: HostSide = {
  load: (spec) => load(spec as FaceLoadSpec),
  ops: { detect },
  release,
};
