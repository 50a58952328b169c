/**
 * What the SAM 3 host side needs of a loaded model, whichever export layout
 * it came in: usls' 3-file split (sessions.ts) or samexporter's
 * (samexporter-sessions.ts). The host loop (host.ts) encodes each prompt once,
 * each view once, and decodes every prompt on every view through this.
 */
import type * as ort from 'onnxruntime-node';
import type { RawInstance } from '../instances';
import type { Region } from '../region';
import type { ModelInfo } from './protocol';
import type { TokenizedPrompt } from './tokenizer';

export type Feeds = Record<string, ort.Tensor>;

/** One decoder run, turned into instances on demand (so its cost is timed apart from the decoder's). */
export interface Decoded {
  instances(image: { width: number; height: number }, label: string, threshold: number, source: number): RawInstance[];
}

export interface Sam3Runner {
  readonly info: ModelInfo;
  /** The view's S x S RGB bytes as the vision encoder's input. */
  pixels(rgb: Uint8Array): ort.Tensor;
  encodeImage(pixels: ort.Tensor): Promise<Feeds>;
  encodeText(tokens: TokenizedPrompt): Promise<Feeds>;
  /** One prompt on one view; `region` is where the view lies in the image. */
  decode(image: Feeds, text: Feeds, region: Region): Promise<Decoded>;
  release(): Promise<void>;
}
