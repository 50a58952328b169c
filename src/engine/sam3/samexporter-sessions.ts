/**
 * samexporter's SAM 3 export (AnyLabeling; docs/samexporter-layout.md) as a
 * runner: uint8 [3, S, S] in (the graph normalises), the text encoder's
 * three outputs passed to the decoder under its names, and the decoder's
 * full-size boolean masks cut to each instance's box. Runs inside the
 * inference host process only.
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { RawInstance } from '../instances';
import type { Region } from '../region';
import { checkValues, fixedDim, SAMEXPORTER_CONTRACT, SAMEXPORTER_SCORE_FLOOR, SAMEXPORTER_TEXT_TO_DECODER, type ValueInfo } from './contract';
import { tighten } from './mask-upsample';
import { clamp, instanceOf } from './postprocess';
import { MODEL_HELP, ModelFolderError, SAMEXPORTER_FILES, type GraphKey } from './model-folder';
import type { LoadSpec, ModelInfo } from './protocol';
import type { Decoded, Feeds, Sam3Runner } from './runner';
import { asFloat32, checkProviders, convertFloat, createSession, floatTensor, infos } from './sessions';
import type { TokenizedPrompt } from './tokenizer';

const DEFAULT_IMAGE_SIZE = 1008;
const DEFAULT_CONTEXT = 32;

export class SamexporterSessions implements Sam3Runner {
  private constructor(
    private readonly vision: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly decoderInputs: Map<string, string | undefined>,
    readonly info: ModelInfo,
  ) {}

  static async load(spec: LoadSpec): Promise<SamexporterSessions> {
    checkProviders(spec.executionProviders);
    const sessions = {} as Record<GraphKey, ort.InferenceSession>;
    const releaseAll = (): Promise<unknown> => Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
    try {
      for (const key of Object.keys(SAMEXPORTER_FILES) as GraphKey[]) sessions[key] = await createSession(spec.graphs[key], spec);
    } catch (err) {
      await releaseAll();
      throw err;
    }
    const problems: string[] = [];
    const resolved = {} as Record<GraphKey, Map<string, ValueInfo>>;
    for (const key of Object.keys(SAMEXPORTER_FILES) as GraphKey[]) {
      const file = path.basename(spec.graphs[key]);
      const ins = checkValues(file, 'input', SAMEXPORTER_CONTRACT[key].inputs, infos(sessions[key].inputMetadata));
      const outs = checkValues(file, 'output', SAMEXPORTER_CONTRACT[key].outputs, infos(sessions[key].outputMetadata));
      problems.push(...ins.problems, ...outs.problems);
      resolved[key] = new Map([...ins.resolved, ...outs.resolved]);
    }
    if (problems.length > 0) {
      await releaseAll();
      throw new ModelFolderError(`SAM 3 model in ${path.dirname(spec.graphs.vision)} (samexporter's layout) does not match it:\n- ${problems.join('\n- ')}\n${MODEL_HELP}`, 'MODEL_FOLDER_INVALID');
    }
    const image = resolved.vision.get('image');
    const floatOf = (v: ValueInfo | undefined): 'float32' | 'float16' => (v?.type === 'float16' ? 'float16' : 'float32');
    const decoderInputs = new Map(infos(sessions.decoder.inputMetadata).map((v) => [v.name, v.type]));
    return new SamexporterSessions(sessions.vision, sessions.text, sessions.decoder, decoderInputs, {
      layout: 'samexporter',
      scoreFloor: SAMEXPORTER_SCORE_FLOOR,
      imageSize: fixedDim(image, 2) ?? fixedDim(image, 1) ?? DEFAULT_IMAGE_SIZE,
      contextLength: fixedDim(resolved.text.get('tokens'), 1) ?? DEFAULT_CONTEXT,
      floatTypes: {
        vision: floatOf(resolved.vision.get('backbone_fpn_2')),
        text: floatOf(resolved.text.get('text_memory')),
        decoder: floatOf(resolved.decoder.get('language_features')),
      },
      executionProviders: spec.executionProviders,
    });
  }

  /** S x S RGB bytes (HWC) -> uint8 CHW [3, S, S]: the graph normalises itself. */
  pixels(rgb: Uint8Array): ort.Tensor {
    const s = this.info.imageSize;
    const plane = s * s;
    const chw = new Uint8Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      chw[i] = rgb[i * 3];
      chw[plane + i] = rgb[i * 3 + 1];
      chw[2 * plane + i] = rgb[i * 3 + 2];
    }
    return new ort.Tensor('uint8', chw, [3, s, s]);
  }

  async encodeImage(pixels: ort.Tensor): Promise<Feeds> {
    const out = await this.vision.run({ image: pixels });
    // Only what this decoder takes (onnxsim may have dropped positional encodings it does not use).
    const feeds: Feeds = {};
    for (const [name, tensor] of Object.entries(out)) if (this.decoderInputs.has(name)) feeds[name] = this.forDecoder(name, tensor);
    return feeds;
  }

  async encodeText(tokens: TokenizedPrompt): Promise<Feeds> {
    const out = await this.text.run({ tokens: new ort.Tensor('int64', tokens.inputIds, [1, this.info.contextLength]) });
    const feeds: Feeds = {};
    for (const [from, to] of Object.entries(SAMEXPORTER_TEXT_TO_DECODER)) feeds[to] = this.forDecoder(to, out[from]);
    return feeds;
  }

  async decode(image: Feeds, text: Feeds, region: Region): Promise<Decoded> {
    const boxType = this.decoderInputs.get('box_coords') === 'float16' ? 'float16' : 'float32';
    const out = await this.decoder.run({
      ...image,
      ...text,
      // The view's own size: boxes and masks come back in its pixels.
      original_height: new ort.Tensor('int64', BigInt64Array.from([BigInt(region.height)]), []),
      original_width: new ort.Tensor('int64', BigInt64Array.from([BigInt(region.width)]), []),
      // No box prompt: box_masks true marks the one box as padding.
      box_coords: floatTensor(new Float32Array(4), [1, 1, 4], boxType),
      box_labels: new ort.Tensor('int64', BigInt64Array.from([1n]), [1, 1]),
      box_masks: new ort.Tensor('bool', Uint8Array.from([1]), [1, 1]),
    });
    const scores = asFloat32(out.scores);
    const boxes = asFloat32(out.boxes);
    const masks = out.masks.data as Uint8Array;
    const [count, , h, w] = out.masks.dims;
    return {
      instances: (size, label, threshold, source) => {
        const found: RawInstance[] = [];
        for (let k = 0; k < count; k++) {
          const score = scores[k];
          if (!(score >= threshold)) continue;
          const b = boxes.subarray(k * 4, k * 4 + 4);
          const x1 = clamp(region.x + Math.min(b[0], b[2]), 0, size.width);
          const y1 = clamp(region.y + Math.min(b[1], b[3]), 0, size.height);
          const x2 = clamp(region.x + Math.max(b[0], b[2]), 0, size.width);
          const y2 = clamp(region.y + Math.max(b[1], b[3]), 0, size.height);
          const boxRegion: Region = { x: Math.floor(x1), y: Math.floor(y1), width: Math.ceil(x2) - Math.floor(x1), height: Math.ceil(y2) - Math.floor(y1) };
          // The full-size mask, cut to the pixels it sets.
          const plane = masks.subarray(k * h * w, (k + 1) * h * w);
          const mask = w === region.width && h === region.height ? tighten({ x: region.x, y: region.y, width: w, height: h, data: plane }) : null;
          const inst = instanceOf(label, score, boxRegion, mask, source);
          if (inst) found.push(inst);
        }
        return found;
      },
    };
  }

  private forDecoder(name: string, t: ort.Tensor): ort.Tensor {
    const want = this.decoderInputs.get(name);
    return want === 'float16' || want === 'float32' ? convertFloat(t, want) : t;
  }

  async release(): Promise<void> {
    await Promise.all([this.vision.release(), this.text.release(), this.decoder.release()]);
  }
}
