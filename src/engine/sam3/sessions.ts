/**
 * The three SAM 3 graphs as onnxruntime sessions, checked against the
 * contract at load, with float16 variants converted at the boundaries.
 * Runs inside the inference host process only.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CONTRACT, checkValues, fixedDim, type ValueInfo } from './contract';
import { float32ToHalf, halfToFloat32 } from './float16';
import type { LoadSpec, ModelInfo } from './protocol';
import { GRAPH_STEMS, MODEL_HELP, ModelFolderError, type GraphKey } from './model-folder';
import { HALF_RANGE, toChw } from '../normalise';
import { decodeInstances } from './postprocess';
import { CodedError } from '../../common/coded-error';
import type { Decoded, Feeds, Sam3Runner } from './runner';
import type { Region } from '../region';
import type { TokenizedPrompt } from './tokenizer';

const DEFAULT_IMAGE_SIZE = 1008;
const DEFAULT_CONTEXT = 32;

export function infos(values: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return values.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : { name: v.name, shape: [] }));
}

/** Fails early, naming what onnxruntime-node offers, rather than deep inside session creation. */
export function checkProviders(requested: string[]): void {
  const available = ort.listSupportedBackends().map((b) => b.name);
  for (const ep of requested) {
    if (!available.includes(ep)) {
      throw new CodedError('PROVIDER_UNAVAILABLE', `execution provider '${ep}' is not offered by onnxruntime-node on this platform (available: ${available.join(', ')})`);
    }
  }
}

export async function createSession(file: string, spec: LoadSpec): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...spec.executionProviders.filter((e) => e !== 'cpu'), 'cpu'],
    graphOptimizationLevel: 'all',
    // onnxruntime's pool threads busy-wait after each run by default. The
    // host shares the machine with Node-RED and ffmpeg, and the spinning
    // takes CPU they need: with a frame a second or more apart it gained
    // nothing, and in the 1080p video bench on 2 cores it was 16 ms of CPU
    // per frame, against 1 ms without (bench/README.md).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  if (spec.threads && spec.threads > 0) options.intraOpNumThreads = spec.threads;
  try {
    // By path, not by buffer, so onnxruntime finds external weight files beside the graph.
    return await ort.InferenceSession.create(file, options);
  } catch (err) {
    const msg = (err as Error).message;
    const gpu = spec.executionProviders.filter((e) => e !== 'cpu');
    if (gpu.length > 0 && /provider|cuda|tensorrt|webgpu|dml|shared library|\.so/i.test(msg)) {
      throw new CodedError(
        'PROVIDER_UNAVAILABLE',
        `execution provider ${gpu.join(', ')} could not start for ${path.basename(file)}: ${msg}. ` +
          'onnxruntime-node needs its GPU libraries (installed by its install script unless --onnxruntime-node-install=skip was given); use executionProviders ["cpu"] otherwise.',
      );
    }
    throw new ModelFolderError(`cannot load ${file}: ${msg}. ${MODEL_HELP}`, 'MODEL_FOLDER_INVALID');
  }
}

async function readImageSizeFromConfig(configPath: string | undefined): Promise<number | undefined> {
  if (!configPath) return undefined;
  try {
    const config = JSON.parse(await fs.readFile(configPath, 'utf8')) as Record<string, unknown>;
    const size = config.image_size ?? (config.vision_config as Record<string, unknown> | undefined)?.image_size;
    return typeof size === 'number' && size > 0 ? size : undefined;
  } catch {
    return undefined;
  }
}

export function floatTensor(data: Float32Array, dims: number[], type: 'float32' | 'float16'): ort.Tensor {
  return type === 'float16' ? new ort.Tensor('float16', float32ToHalf(data), dims) : new ort.Tensor('float32', data, dims);
}

export function asFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const d = t.data as unknown;
    return d instanceof Uint16Array ? halfToFloat32(d) : Float32Array.from(d as ArrayLike<number>);
  }
  throw new CodedError('MODEL_CONTRACT_MISMATCH', `expected a float tensor, got ${t.type}`);
}

/** Re-types a float tensor for the next graph when the two graphs' precisions differ. */
export function convertFloat(t: ort.Tensor, to: 'float32' | 'float16'): ort.Tensor {
  if (t.type === to) return t;
  return floatTensor(asFloat32(t), [...t.dims], to);
}

/** usls' 3-file split (docs/sam3-onnx-contract.md). */
export class Sam3Sessions implements Sam3Runner {
  private constructor(
    private readonly vision: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly imageInput: string,
    private readonly decoderInputTypes: Map<string, string | undefined>,
    readonly info: ModelInfo,
  ) {}

  static async load(spec: LoadSpec): Promise<Sam3Sessions> {
    checkProviders(spec.executionProviders);
    const sessions = {} as Record<GraphKey, ort.InferenceSession>;
    try {
      for (const key of Object.keys(GRAPH_STEMS) as GraphKey[]) sessions[key] = await createSession(spec.graphs[key], spec);
    } catch (err) {
      await Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
      throw err;
    }
    const problems: string[] = [];
    const resolved = {} as Record<GraphKey, { inputs: Map<string, ValueInfo>; outputs: Map<string, ValueInfo> }>;
    for (const key of Object.keys(GRAPH_STEMS) as GraphKey[]) {
      const file = path.basename(spec.graphs[key]);
      const ins = checkValues(file, 'input', CONTRACT[key].inputs, infos(sessions[key].inputMetadata));
      const outs = checkValues(file, 'output', CONTRACT[key].outputs, infos(sessions[key].outputMetadata));
      problems.push(...ins.problems, ...outs.problems);
      resolved[key] = { inputs: ins.resolved, outputs: outs.resolved };
    }
    if (problems.length > 0) {
      await Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
      throw new ModelFolderError(`SAM 3 model in ${path.dirname(spec.graphs.vision)} does not match the contract:\n- ${problems.join('\n- ')}\n${MODEL_HELP}`, 'MODEL_FOLDER_INVALID');
    }
    const image = resolved.vision.inputs.get('images') as ValueInfo;
    const imageSize = fixedDim(image, 3) ?? fixedDim(image, 2) ?? (await readImageSizeFromConfig(spec.config)) ?? DEFAULT_IMAGE_SIZE;
    const contextLength = fixedDim(resolved.text.inputs.get('input_ids'), 1) ?? DEFAULT_CONTEXT;
    const floatOf = (v: ValueInfo | undefined): 'float32' | 'float16' => (v?.type === 'float16' ? 'float16' : 'float32');
    const decoderInputTypes = new Map([...resolved.decoder.inputs].map(([k, v]) => [k, v.type]));
    return new Sam3Sessions(sessions.vision, sessions.text, sessions.decoder, image.name, decoderInputTypes, {
      layout: 'usls',
      imageSize,
      contextLength,
      floatTypes: {
        vision: floatOf(image),
        text: floatOf(resolved.text.outputs.get('text_features')),
        decoder: floatOf(resolved.decoder.inputs.get('text_features')),
      },
      executionProviders: spec.executionProviders,
    });
  }

  /** S x S RGB bytes -> normalised NCHW (x / 127.5 - 1), as the contract's preprocessing says. */
  pixels(rgb: Uint8Array): ort.Tensor {
    const s = this.info.imageSize;
    return floatTensor(toChw(rgb, s, s, HALF_RANGE), [1, 3, s, s], this.info.floatTypes.vision);
  }

  async encodeImage(pixels: ort.Tensor): Promise<Feeds> {
    const out = await this.vision.run({ [this.imageInput]: pixels });
    const feats: Feeds = {};
    for (const name of ['fpn_feat_0', 'fpn_feat_1', 'fpn_feat_2', 'fpn_pos_2']) feats[name] = this.forDecoder(name, out[name]);
    return feats;
  }

  async encodeText(tokens: TokenizedPrompt): Promise<Feeds> {
    const n = this.info.contextLength;
    const out = await this.text.run({
      input_ids: new ort.Tensor('int64', tokens.inputIds, [1, n]),
      attention_mask: new ort.Tensor('int64', tokens.attentionMask, [1, n]),
    });
    return { text_features: this.forDecoder('text_features', out.text_features), text_mask: out.text_mask };
  }

  async decode(image: Feeds, text: Feeds, region: Region): Promise<Decoded> {
    const boxType = this.decoderInputTypes.get('input_boxes') === 'float16' ? 'float16' : 'float32';
    const out = await this.decoder.run({
      ...image,
      ...text,
      // No box prompt: the contract's "no box" padding.
      input_boxes: floatTensor(new Float32Array(4), [1, 1, 4], boxType),
      input_boxes_labels: new ort.Tensor('int64', BigInt64Array.from([-10n]), [1, 1]),
    });
    const masks = out.pred_masks;
    const [, queries, maskHeight, maskWidth] = masks.dims;
    const decoded = {
      masks: asFloat32(masks),
      maskHeight,
      maskWidth,
      boxes: asFloat32(out.pred_boxes),
      logits: asFloat32(out.pred_logits),
      presence: asFloat32(out.presence_logits)[0],
      queries,
    };
    return { instances: (size, label, threshold, source) => decodeInstances(decoded, region, size, label, threshold, source) };
  }

  private forDecoder(name: string, t: ort.Tensor): ort.Tensor {
    const want = this.decoderInputTypes.get(name);
    return want === 'float16' || want === 'float32' ? convertFloat(t, want) : t;
  }

  async release(): Promise<void> {
    await Promise.all([this.vision.release(), this.text.release(), this.decoder.release()]);
  }
}
