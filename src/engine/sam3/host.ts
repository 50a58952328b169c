/**
 * SAM 3's side of the inference host: loads the three graphs and the
 * tokenizer, and answers segment jobs (views of one image, prompts) with
 * instances. Runs in the host process only (see host/host-process.ts).
 */
import type { HostSide } from '../host/protocol';
import { toInstances, type RawInstance } from '../instances';
import type { HostTimings, LoadSpec, ModelInfo, SegmentJob, SegmentReply } from './protocol';
import type { Feeds, Sam3Runner } from './runner';
import { SamexporterSessions } from './samexporter-sessions';
import { Sam3Sessions } from './sessions';
import { LruCache } from './text-cache';
import { mergeAcrossPasses } from './tiles';
import { ClipTokenizer, normalisePrompt } from './tokenizer';
import { CodedError } from '../../common/coded-error';

let sessions: Sam3Runner | undefined;
let tokenizer: ClipTokenizer | undefined;
let textCache: LruCache<string, Feeds> = new LruCache(256);

async function load(spec: LoadSpec): Promise<ModelInfo> {
  await release();
  const loaded = spec.layout === 'samexporter' ? await SamexporterSessions.load(spec) : await Sam3Sessions.load(spec);
  sessions = loaded;
  // samexporter's text encoder takes its mask as tokens != 0: it pads with 0, not CLIP's end token.
  tokenizer = await ClipTokenizer.load(spec.tokenizer, spec.tokenizerConfig, loaded.info.contextLength, spec.layout === 'samexporter' ? 0 : undefined);
  textCache = new LruCache(spec.textCacheSize);
  return loaded.info;
}

async function release(): Promise<void> {
  const old = sessions;
  sessions = undefined;
  await old?.release();
}

async function segment(job: SegmentJob): Promise<SegmentReply> {
  if (!sessions || !tokenizer) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no SAM 3 model loaded');
  const timings: HostTimings = {
    preprocessMs: 0, visionMs: 0, textMs: 0, decoderMs: 0, postprocessMs: 0,
    visionPasses: 0, textEncodes: 0, decoderRuns: 0,
  };
  const clock = (): number => performance.now();

  // Text first: each distinct prompt is encoded once per engine (LRU), not per image.
  const texts: Feeds[] = [];
  for (const prompt of job.prompts) {
    const key = normalisePrompt(prompt.text);
    let feats = textCache.get(key);
    if (!feats) {
      const t0 = clock();
      const tokens = tokenizer.encode(key);
      feats = await sessions.encodeText(tokens);
      textCache.set(key, feats);
      timings.textMs += clock() - t0;
      timings.textEncodes++;
    }
    texts.push(feats);
  }

  const found: RawInstance[] = [];
  for (let source = 0; source < job.tiles.length; source++) {
    const tile = job.tiles[source];
    let t0 = clock();
    const pixels = sessions.pixels(tile.rgb);
    timings.preprocessMs += clock() - t0;
    t0 = clock();
    // One vision pass per image or tile, shared by every prompt.
    const image = await sessions.encodeImage(pixels);
    timings.visionMs += clock() - t0;
    timings.visionPasses++;
    for (let p = 0; p < job.prompts.length; p++) {
      t0 = clock();
      const out = await sessions.decode(image, texts[p], tile.region);
      timings.decoderMs += clock() - t0;
      timings.decoderRuns++;
      t0 = clock();
      const { label, threshold } = job.prompts[p];
      found.push(...out.instances(job, label, threshold, source));
      timings.postprocessMs += clock() - t0;
    }
  }

  const t0 = clock();
  const merged = job.tiles.length > 1 ? mergeAcrossPasses(found) : found;
  const instances = toInstances(merged, job.width, job.height);
  timings.postprocessMs += clock() - t0;
  return { instances, timings };
}

export const hostSide: HostSide = {
  load: (spec) => load(spec as LoadSpec),
  ops: { segment },
  release,
};
