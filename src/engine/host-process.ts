/**
 * Entry point of the inference host: a child process that owns the
 * onnxruntime sessions, SAM 3's and the text models'. onnxruntime-node's run()
 * blocks its event loop for the whole inference, and a native crash takes its
 * process with it, so both happen here rather than in Node-RED's process.
 * One process for every model: several onnxruntime hosts per process are
 * known to crash, and one host keeps one queue.
 */
import type { HostReply, HostRequest, HostTimings, HostValue, LoadSpec, ModelInfo, SegmentJob, SegmentReply } from './host-protocol';
import { decodeInstances, toInstances, type RawInstance } from './postprocess';
import { Sam3Sessions } from './sessions';
import { LruCache } from './text-cache';
import { detectText, loadTextModels, readText } from './text/text-host';
import { mergeAcrossPasses } from './tiles';
import { ClipTokenizer, normalisePrompt } from './tokenizer';

type Feeds = Awaited<ReturnType<Sam3Sessions['encodeText']>>;

let sessions: Sam3Sessions | undefined;
let tokenizer: ClipTokenizer | undefined;
let textCache: LruCache<string, Feeds> = new LruCache(256);

async function load(spec: LoadSpec): Promise<ModelInfo> {
  if (sessions) await sessions.release();
  sessions = undefined;
  const loaded = await Sam3Sessions.load(spec);
  sessions = loaded;
  tokenizer = await ClipTokenizer.load(spec.tokenizer, spec.tokenizerConfig, loaded.info.contextLength);
  textCache = new LruCache(spec.textCacheSize);
  return sessions.info;
}

async function segment(job: SegmentJob): Promise<SegmentReply> {
  if (!sessions || !tokenizer) throw new Error('inference host has no SAM 3 model loaded');
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
      feats = await sessions.encodeText(tokens.inputIds, tokens.attentionMask);
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
    const pixels = sessions.toPixelTensor(tile.rgb);
    timings.preprocessMs += clock() - t0;
    t0 = clock();
    // One vision pass per image or tile, shared by every prompt.
    const image = await sessions.encodeImage(pixels);
    timings.visionMs += clock() - t0;
    timings.visionPasses++;
    for (let p = 0; p < job.prompts.length; p++) {
      t0 = clock();
      const out = await sessions.decode(image, texts[p]);
      timings.decoderMs += clock() - t0;
      timings.decoderRuns++;
      t0 = clock();
      const { label, threshold } = job.prompts[p];
      found.push(...decodeInstances(out, tile.region, job, label, threshold, source));
      timings.postprocessMs += clock() - t0;
    }
  }

  const t0 = clock();
  const merged = job.tiles.length > 1 ? mergeAcrossPasses(found) : found;
  const instances = toInstances(merged, job.width, job.height);
  timings.postprocessMs += clock() - t0;
  return { instances, timings };
}

function serve(req: HostRequest): Promise<HostValue> {
  switch (req.kind) {
    case 'load':
      return load(req.spec);
    case 'segment':
      return segment(req.job);
    case 'load-text':
      return loadTextModels(req.spec);
    case 'detect-text':
      return detectText(req.job);
    case 'read-text':
      return readText(req.job);
  }
}

function reply(message: HostReply): void {
  process.send?.(message);
}

// One request at a time: two images in flight would hold two sets of
// vision features (about 200 MB at the real model's size) for no speed gain.
let queue: Promise<unknown> = Promise.resolve();

process.on('message', (raw: unknown) => {
  const req = raw as HostRequest;
  const work = queue.then(() => serve(req));
  queue = work.catch(() => undefined);
  work.then(
    (value) => reply({ id: req.id, ok: true, value }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      reply({ id: req.id, ok: false, error: { name: e.name, message: e.message } });
    },
  );
});

// The engine's process went away: nothing is left to serve.
process.on('disconnect', () => process.exit(0));
