/**
 * What every small bundled detector's host side does alike (the face and the
 * person and vehicle detectors): one onnxruntime session on one thread, an
 * image pass turned into a planar float tensor, and passes run in turn with
 * their time accounted. Runs in the host process only.
 */
import * as ort from 'onnxruntime-node';

export interface DetectorSpec {
  model: string;
  executionProviders: string[];
  threads?: number;
}

export async function openDetector(spec: DetectorSpec): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(spec.model, {
    executionProviders: spec.executionProviders,
    // One thread: these models are small, and video frames keep ffmpeg busy on the other cores.
    intraOpNumThreads: spec.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

export function inputShape(session: ort.InferenceSession): readonly (number | string)[] {
  const meta = session.inputMetadata[0];
  return meta && 'shape' in meta ? meta.shape : [];
}

/**
 * Interleaved RGB bytes -> [1, 3, height, width] float32, each channel
 * (x - mean) / std, in RGB order or, for models trained on OpenCV's
 * images, BGR.
 */
export function planarTensor(rgb: Uint8Array, width: number, height: number, mean: readonly number[], std: readonly number[], order: 'rgb' | 'bgr'): ort.Tensor {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  const from = order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const base = c * plane, src = from[c], m = mean[c], s = std[c];
    for (let p = 0, i = src; p < plane; p++, i += 3) out[base + p] = (rgb[i] - m) / s;
  }
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

export interface PassTimings {
  preprocessMs: number;
  inferMs: number;
  passes: number;
  postprocessMs: number;
}

/** Runs each pass (tensor in, candidates out), timing the three steps. */
export async function runPasses<P, C>(
  session: ort.InferenceSession,
  passes: readonly P[],
  toInput: (pass: P) => Record<string, ort.Tensor>,
  decode: (out: ort.InferenceSession.OnnxValueMapType, pass: P) => C[],
): Promise<{ found: C[]; timings: PassTimings }> {
  const timings: PassTimings = { preprocessMs: 0, inferMs: 0, passes: 0, postprocessMs: 0 };
  const found: C[] = [];
  for (const pass of passes) {
    let t0 = performance.now();
    const input = toInput(pass);
    timings.preprocessMs += performance.now() - t0;
    t0 = performance.now();
    const out = await session.run(input);
    timings.inferMs += performance.now() - t0;
    timings.passes++;
    t0 = performance.now();
    found.push(...decode(out, pass));
    timings.postprocessMs += performance.now() - t0;
  }
  return { found, timings };
}
