/**
 * PP-OCRv4's detector and recogniser as onnxruntime sessions, checked at load
 * against the shapes this code relies on. Runs inside the inference host only.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { toChw, HALF_RANGE, type Normalisation } from '../normalise';
import { checkProviders } from '../sam3/sessions';
import { characterList, ctcGreedy, type TextReading } from './ctc';
import type { LineCrop } from './rec-crop';
import type { TextLoadSpec, TextModelInfo } from './protocol';

/** ImageNet statistics in PaddleOCR's BGR channel order. */
const DETECTOR_NORM: Normalisation = { mean: [0.406, 0.456, 0.485], std: [0.225, 0.224, 0.229], order: 'bgr' };
const RECOGNIZER_NORM: Normalisation = { ...HALF_RANGE, order: 'bgr' };
/** PaddleOCR pads every line to at least this width (its 48 x 320 training shape). */
const MIN_LINE_WIDTH = 320;

export class TextModelError extends Error {
  readonly code = 'TEXT_MODEL_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'TextModelError';
  }
}

async function open(file: string, spec: TextLoadSpec): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...spec.executionProviders.filter((e) => e !== 'cpu'), 'cpu'],
    graphOptimizationLevel: 'all',
  };
  if (spec.threads && spec.threads > 0) options.intraOpNumThreads = spec.threads;
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (err) {
    throw new TextModelError(`cannot load text model ${file}: ${(err as Error).message}`);
  }
}

function shapeOf(values: readonly ort.InferenceSession.ValueMetadata[], i: number): ReadonlyArray<number | string> {
  const v = values[i];
  return v && v.isTensor ? v.shape : [];
}

export class TextSessions {
  private constructor(
    private readonly detector: ort.InferenceSession,
    private readonly recognizer: ort.InferenceSession,
    private readonly chars: string[],
    readonly info: TextModelInfo,
  ) {}

  static async load(spec: TextLoadSpec): Promise<TextSessions> {
    checkProviders(spec.executionProviders);
    const chars = characterList(await fs.readFile(spec.dictionary, 'utf8'));
    const detector = await open(spec.detector, spec);
    let recognizer: ort.InferenceSession;
    try {
      recognizer = await open(spec.recognizer, spec);
    } catch (err) {
      await detector.release();
      throw err;
    }
    const problems: string[] = [];
    const det = shapeOf(detector.inputMetadata, 0);
    const detOut = shapeOf(detector.outputMetadata, 0);
    if (det.length !== 4 || det[1] !== 3) problems.push(`${path.basename(spec.detector)}: input should be [N, 3, H, W], is [${det.join(', ')}]`);
    if (detOut.length !== 4 || detOut[1] !== 1) problems.push(`${path.basename(spec.detector)}: output should be [N, 1, H, W], is [${detOut.join(', ')}]`);
    const rec = shapeOf(recognizer.inputMetadata, 0);
    const recOut = shapeOf(recognizer.outputMetadata, 0);
    const height = typeof rec[2] === 'number' ? rec[2] : 48;
    if (rec.length !== 4 || rec[1] !== 3) problems.push(`${path.basename(spec.recognizer)}: input should be [N, 3, 48, W], is [${rec.join(', ')}]`);
    if (recOut.length !== 3) problems.push(`${path.basename(spec.recognizer)}: output should be [N, T, classes], is [${recOut.join(', ')}]`);
    else if (typeof recOut[2] === 'number' && recOut[2] !== chars.length) {
      problems.push(`${path.basename(spec.dictionary)} gives ${chars.length} classes but the recogniser outputs ${recOut[2]}`);
    }
    if (problems.length > 0) {
      await Promise.all([detector.release(), recognizer.release()]);
      throw new TextModelError(`text models do not match what this package expects:\n- ${problems.join('\n- ')}`);
    }
    return new TextSessions(detector, recognizer, chars, {
      recognizerHeight: height,
      classes: chars.length,
      executionProviders: spec.executionProviders,
    });
  }

  /** Normalised detector input for one pass. */
  detectorTensor(rgb: Uint8Array, width: number, height: number): ort.Tensor {
    return new ort.Tensor('float32', toChw(rgb, width, height, DETECTOR_NORM), [1, 3, height, width]);
  }

  /** The text-probability map, the same size as the input. */
  async detect(input: ort.Tensor): Promise<Float32Array> {
    const out = await this.detector.run({ [this.detector.inputNames[0]]: input });
    return out[this.detector.outputNames[0]].data as Float32Array;
  }

  /** Reads one line; lines run one at a time, as batching pads them all to the longest for no gain on a CPU. */
  async read(crop: LineCrop): Promise<TextReading> {
    const tensorWidth = Math.max(MIN_LINE_WIDTH, crop.width);
    const data = toChw(crop.rgb, crop.width, crop.height, RECOGNIZER_NORM, tensorWidth);
    const out = await this.recognizer.run({
      [this.recognizer.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, crop.height, tensorWidth]),
    });
    const probs = out[this.recognizer.outputNames[0]];
    const [, steps, classes] = probs.dims;
    return ctcGreedy(probs.data as Float32Array, 0, steps, classes, this.chars);
  }

  async release(): Promise<void> {
    await Promise.all([this.detector.release(), this.recognizer.release()]);
  }
}
