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
 * Interleaved RGB bytes -> [1, 3, height, width] float32 tensors, each
 * channel (x - mean) / std, in RGB order or, for models trained on OpenCV's
 * images, BGR (mean and std then in BGR order too). Bytes map through a
 * table per channel, a tile is read straight out of the image it lies in
 * (no copy of it first), and one buffer serves a run's passes: a tiled
 * 1080p frame has 61 of them, and a fresh 0.9 MB array each, plus its crop,
 * cost more than the table lookups.
 */
export class PlanarTensors {
  private readonly tables: Float32Array[];
  /** For each tensor channel, the image channel it reads. */
  private readonly from: number[];
  private buffer: Float32Array | undefined;

  constructor(readonly width: number, readonly height: number, mean: readonly number[], std: readonly number[], order: 'rgb' | 'bgr') {
    this.from = order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
    // mean and std are the model's, in its channel order (the tensor's), not the image's.
    this.tables = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v - mean[c]) / std[c]));
  }

  /**
   * The width x height rectangle at (x, y) of an RGB image `stride` pixels
   * wide. `reuse`: write into the buffer of the previous tensor (the caller
   * is done with it: a run's passes go one after another; make one of these
   * per run, since a host may interleave two runs).
   */
  tensor(rgb: Uint8Array, stride = this.width, x = 0, y = 0, reuse = false): ort.Tensor {
    const { width, height } = this;
    const plane = width * height;
    if (!reuse || !this.buffer) this.buffer = new Float32Array(plane * 3);
    const out = this.buffer;
    const [t0, t1, t2] = this.tables;
    const [c0, c1, c2] = this.from;
    for (let row = 0, p = 0; row < height; row++) {
      for (let col = 0, i = ((y + row) * stride + x) * 3; col < width; col++, p++, i += 3) {
        out[p] = t0[rgb[i + c0]];
        out[plane + p] = t1[rgb[i + c1]];
        out[2 * plane + p] = t2[rgb[i + c2]];
      }
    }
    return new ort.Tensor('float32', out, [1, 3, height, width]);
  }
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
  /** `index`: the pass's place in the run; a pass after the first may reuse the previous one's buffers. */
  toInput: (pass: P, index: number) => Record<string, ort.Tensor>,
  decode: (out: ort.InferenceSession.OnnxValueMapType, pass: P) => C[],
): Promise<{ found: C[]; timings: PassTimings }> {
  const timings: PassTimings = { preprocessMs: 0, inferMs: 0, passes: 0, postprocessMs: 0 };
  const found: C[] = [];
  for (const [index, pass] of passes.entries()) {
    let t0 = performance.now();
    const input = toInput(pass, index);
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
