/**
 * video-encode: collects the frames of a video job (in index order), encodes
 * them once into the output video with the source's audio and timing, and
 * sends one message when the video is complete. The output appears only
 * complete; a failed or stopped job leaves no file.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Instance, RawFrame } from '../common/types';
import { createFrameWriter, FAILED_LABEL, type FrameWriter, type OutputFormat } from '../video';
import { numberField } from './lib/properties';
import { errorStatus, nodeError } from './lib/errors';
import { ThrottledStatus } from './lib/throttled-status';
import { videoJobs, type FrameFacts, type FrameParts, type VideoJob } from './lib/video-jobs';

interface VideoEncodeDef extends NodeDef {
  outputDir?: string;
  suffix?: string;
  container?: OutputFormat;
  crf?: string | number;
  preset?: string;
  dropAudio?: boolean;
  requireRedaction?: boolean;
}

type FrameMsg = Omit<NodeMessageInFlow, 'parts'> & { parts?: FrameParts; frame?: FrameFacts; detections?: Instance[]; segmentation?: unknown; redaction?: unknown };

interface Held {
  msg: FrameMsg;
  done: (err?: Error) => void;
}

interface EncodeState {
  job: VideoJob;
  writer: Promise<FrameWriter>;
  held: Map<number, Held>;
  next: number;
  pumping: boolean;
  fresh: number;
  carried: number;
  /** Frames hidden whole because a detection failed (fail closed). */
  coveredWhole: number;
  /** Per label, the tracks seen: what the video held, counted once however many frames it spans. */
  tracks: Map<string, Set<number>>;
  /** The fixed privacy zones mask-blur hid, by name. */
  zones: Set<string>;
  last?: FrameMsg;
  /** Where the output appears when the writer does not publish it itself (a claimed video: watch-folder does). */
  published?: string;
  /** Ends the hold on the video's claim. */
  release?: () => void;
}

/** What a written frame adds to the video's record: fresh or carried, hidden whole, tracks per label, zones. */
function tally(state: EncodeState, msg: FrameMsg): void {
  const detections = Array.isArray(msg.detections) ? msg.detections : [];
  // sam3-segment says whether the frame's cover was carried; otherwise every detection must say so.
  const said = (msg.segmentation as { carried?: unknown } | undefined)?.carried;
  const carried = typeof said === 'boolean' ? said : detections.length > 0 && detections.every((d) => d.carried);
  if (carried) state.carried++;
  else state.fresh++;
  let whole = false;
  for (const d of detections) {
    if (d.label === FAILED_LABEL) {
      whole = true;
      continue;
    }
    const track = (d as { track?: unknown }).track;
    if (typeof track !== 'number') continue;
    let seen = state.tracks.get(d.label);
    if (!seen) state.tracks.set(d.label, (seen = new Set()));
    seen.add(track);
  }
  if (whole) state.coveredWhole++;
  const zones = (msg.redaction as { zones?: unknown } | undefined)?.zones;
  if (Array.isArray(zones)) for (const z of zones as Array<{ name?: unknown }>) if (typeof z.name === 'string') state.zones.add(z.name);
}

export = function register(RED: NodeAPI): void {
  function VideoEncode(this: Node, config: VideoEncodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const container: OutputFormat = config.container || 'mp4';
    const suffix = config.suffix ?? '-redacted';
    const requireRedaction = config.requireRedaction !== false;
    const status = new ThrottledStatus((s) => node.status(s));
    const states = new Map<string, EncodeState>();

    function outputFor(job: VideoJob): string {
      if (job.outputPath) return job.outputPath;
      const dir = config.outputDir ? path.resolve(config.outputDir) : path.dirname(job.source);
      return path.join(dir, `${path.basename(job.source, path.extname(job.source))}${suffix}.${container}`);
    }

    function start(job: VideoJob): EncodeState {
      const output = outputFor(job);
      // A claimed video's result goes to the claim's staging file; watch-folder publishes it with its audit.
      const claim = job.claim && path.resolve(output) === job.claim.output ? job.claim : undefined;
      // Held until the encoder has stopped, so that a timed-out claim frees its slot only then.
      const release = job.claim?.hold(`${node.type} ${node.id} (encoder)`);
      const writer = (async () => {
        // Never write over the original.
        if (path.resolve(output) === path.resolve(job.source)) throw nodeError(RED, 'OUTPUT_IS_INPUT', 'video-encode.errors.output-is-source', { output });
        await fs.mkdir(path.dirname(output), { recursive: true });
        return createFrameWriter({
          output: claim ? claim.staging : output,
          source: { ...job.info, path: job.source },
          crf: numberField(config.crf, 20),
          preset: config.preset || 'medium',
          dropAudio: config.dropAudio === true,
          format: container,
          beforePublish: job.claim ? () => job.claim?.assertLive() : undefined,
        });
      })();
      const state: EncodeState = { job, writer, held: new Map(), next: 0, pumping: false, fresh: 0, carried: 0, coveredWhole: 0, tracks: new Map(), zones: new Set(), published: claim ? claim.output : undefined, release };
      // A failed writer start fails the job; the rejection is handled there.
      writer.catch((err: Error) => job.fail(err));
      job.once('fail', () => {
        states.delete(job.id);
        writer
          .then((w) => w.abort())
          .catch((err: Error) => {
            // A writer that never started has nothing to stop; one that cannot stop says why in the log.
            if (!job.failure || err !== job.failure) node.warn(err.message);
          })
          .finally(() => release?.());
        // The node that failed the job reported the error; held frames just end.
        for (const h of state.held.values()) h.done();
        state.held.clear();
      });
      job.once('finish', () => release?.());
      states.set(job.id, state);
      return state;
    }

    async function pump(state: EncodeState, send: (m: NodeMessage) => void): Promise<void> {
      if (state.pumping) return;
      state.pumping = true;
      const { job } = state;
      try {
        const writer = await state.writer;
        for (let h = state.held.get(state.next); h && !job.failure; h = state.held.get(state.next)) {
          state.held.delete(state.next);
          const frame = h.msg.payload as RawFrame;
          await writer.write(frame, h.msg.frame?.timestamp);
          // Its bytes are in ffmpeg's pipe: the buffer may carry a later frame (see video-split's help).
          if (frame && frame.data instanceof Uint8Array) job.recycle(frame.data);
          tally(state, h.msg);
          state.next++;
          job.release();
          h.done();
          if (state.next % 30 === 0) status.set({ fill: 'blue', shape: 'dot', text: `${state.next}/${job.count ?? job.info.frameCount ?? '?'}` });
        }
        if (!job.failure && job.count !== undefined && state.next === job.count) {
          const result = await writer.finish();
          states.delete(job.id);
          job.finish();
          const out: Record<string, unknown> = { ...(state.last ?? {}) };
          for (const k of ['parts', 'frame', 'detections', 'segmentation', 'redaction', '_msgid']) delete out[k];
          // What was asked, of which model: the same for every frame, and the audit trail of the whole video.
          const seg = (state.last?.segmentation ?? {}) as Record<string, unknown>;
          if (state.last?.segmentation) {
            out.segmentation = { prompts: seg.prompts, threshold: seg.threshold, stride: seg.stride, modelId: seg.modelId, models: seg.models, backends: seg.backends };
          }
          const output = state.published ?? result.output;
          out.payload = output;
          out.filename = output;
          out.video = {
            source: job.source,
            output,
            frames: result.frames,
            durationSec: job.info.durationSec,
            width: result.width,
            height: result.height,
            audioStreams: config.dropAudio ? 0 : job.info.audioStreams.length,
            detections: { fresh: state.fresh, carried: state.carried },
            tracksPerLabel: Object.fromEntries([...state.tracks].map(([label, seen]) => [label, seen.size])),
            ...(state.zones.size > 0 ? { zones: [...state.zones] } : {}),
            ...(state.coveredWhole > 0 ? { coveredWhole: { frames: state.coveredWhole, because: [...job.coveredWholeBecause] } } : {}),
            ms: Date.now() - job.startedAt,
            warnings: result.warnings,
          };
          status.set({ fill: 'green', shape: 'dot', text: RED._('video-encode.status.done', { frames: result.frames }) });
          send(out);
        }
      } catch (err) {
        job.fail(err as Error);
        throw err;
      } finally {
        state.pumping = false;
      }
    }

    node.on('input', (raw, send, done) => {
      const msg = raw as FrameMsg;
      const job = videoJobs.get(msg.parts?.id);
      // A frame still on its way when its job ended: the job's end was reported already.
      if (!job && videoJobs.hasEnded(msg.parts?.id)) return done();
      if (msg.parts?.type !== 'video' || typeof msg.parts.index !== 'number') return done(nodeError(RED, 'NOT_A_FRAME', 'video-encode.errors.not-a-frame'));
      if (!job) return done(nodeError(RED, 'UNKNOWN_JOB', 'video-encode.errors.unknown-job', { index: msg.parts.index, id: String(msg.parts.id) }));
      if (job.failure) return done();
      if (requireRedaction && !msg.redaction) {
        const err = nodeError(RED, 'FRAME_UNREDACTED', 'video-encode.errors.unredacted', { index: msg.parts.index });
        job.fail(err);
        return job.claimReport() ? done(err) : done();
      }
      const state = states.get(job.id) ?? start(job);
      state.held.set(msg.parts.index, { msg, done });
      state.last = msg;
      pump(state, send as (m: NodeMessage) => void).catch((err: Error) => {
        status.now(errorStatus(RED, 'video-encode', err));
        if (job.claimReport()) node.error(err, msg);
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      const writers = [...states.values()].map((s) => {
        s.job.fail(nodeError(RED, 'FLOW_STOPPED', 'video-encode.errors.stopped', { source: s.job.source }));
        return s.writer.then((w) => w.abort());
      });
      void Promise.allSettled(writers).then(() => done());
    });
  }

  RED.nodes.registerType('video-encode', VideoEncode);
};
