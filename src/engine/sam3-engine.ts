/**
 * SAM 3 on its own: the engine (RedactionEngine) loaded with SAM 3 alone,
 * which must load. Kept for callers that want exactly that, with the shapes
 * they already use (files, modelId, info); its segment() is the engine's,
 * and every prompt, text included, goes to SAM 3 (nothing else is loaded).
 */
import type { Instance } from '../common/types';
import { RedactionEngine } from './redaction-engine';
import type { Sam3CallOptions, Sam3LoadOptions } from './sam3/backend';
import { deviceOf, resolveModelFiles, type ModelFiles } from './sam3/model-folder';
import type { HostTimings, ModelInfo } from './sam3/protocol';

export { DEFAULT_THRESHOLD } from './sam3/backend';

export interface EngineOptions extends Sam3LoadOptions {
  modelDir: string;
  /** Largest image accepted, in pixels (default 100 million). */
  maxPixels?: number;
  /** Largest encoded image accepted, in bytes (default 256 MiB); a file over it is refused unread. */
  maxBytes?: number;
}

export type SegmentOptions = Sam3CallOptions;

export interface SegmentTimings extends HostTimings {
  decodeMs: number;
  totalMs: number;
  tiles: number;
}

export interface SegmentResult {
  width: number;
  height: number;
  instances: Instance[];
  timings: SegmentTimings;
}

export class Sam3Engine extends RedactionEngine {
  /** Checks the model folder against the contract and loads it; throws when it cannot be loaded. */
  static override async load(options: EngineOptions): Promise<Sam3Engine> {
    if (!options || typeof options.modelDir !== 'string' || !options.modelDir) {
      throw new TypeError('Sam3Engine.load needs { modelDir }: the folder holding the SAM 3 ONNX files');
    }
    // A folder that does not match the contract throws its ModelFolderError here, as it always has.
    await resolveModelFiles(options.modelDir, options.variant, deviceOf(options.executionProviders));
    // SAM 3 alone: no bundled detector, no second process.
    const engine = await super.load({ ...options, textModels: false, faceModel: false, objectModel: false });
    // load() makes an instance of the class it is called on.
    if (!(engine instanceof Sam3Engine)) throw new TypeError('Sam3Engine.load made another kind of engine');
    if (!engine.sam3) {
      await engine.close();
      throw new Error(engine.capabilities().sam3Reason ?? 'the SAM 3 model could not be loaded');
    }
    return engine;
  }

  private get loadedSam3(): NonNullable<RedactionEngine['sam3']> {
    const s = this.sam3;
    if (!s) throw new Error('the SAM 3 model is not loaded');
    return s;
  }

  get files(): ModelFiles {
    return this.loadedSam3.files;
  }

  get modelId(): string {
    return this.loadedSam3.modelId;
  }

  get info(): ModelInfo {
    return this.loadedSam3.info;
  }
}
