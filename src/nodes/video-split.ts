/**
 * video-split: a video file in, one message per upright RGB frame out, at
 * most `window` frames ahead of what video-encode has written, so memory
 * stays bounded whatever the video's length.
 */
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { openFrameReader, probeVideo, type FrameReader, type VideoFrame } from '../video';
import { numberField } from './lib/properties';
import { ThrottledStatus } from './lib/throttled-status';
import { confinePath } from '../common/path-guard';
import { rootsFromSettings } from './lib/allowed-roots';
import { videoJobs, type FrameFacts, type FrameParts, type VideoJob } from './lib/video-jobs';
import { claimOf } from './lib/claim-of';
import { failMessage, nodeError } from './lib/errors';
import { imageLimits } from './lib/image-limits';
import type { LiveClaim } from '../watch/live-claims';

interface VideoSplitDef extends NodeDef {
  window?: string | number;
  /** Megabytes the frames in flight may take, at most. */
  windowMemory?: string | number;
  stallTimeout?: string | number;
  progress?: boolean;
}

type SplitMsg = NodeMessageInFlow & { filename?: unknown; outputPath?: unknown };

const DEFAULT_WINDOW = 64;
/** 512 MB: the whole 64-frame window at 1080p (6.2 MB a frame), 20 frames at 4K. */
const DEFAULT_WINDOW_MB = 512;
const MB = 1024 * 1024;
/**
 * Frames outside the window: the one being sent, the one read to tell
 * whether it is the last, and the one the reader is filling (measured: a
 * 4K job peaked at window + 3 frames).
 */
const READ_AHEAD = 3;

function sourcePath(RED: NodeAPI, msg: SplitMsg): string {
  const p = typeof msg.payload === 'string' && msg.payload.trim() ? msg.payload : msg.filename;
  if (typeof p !== 'string' || !p.trim()) throw nodeError(RED, 'INPUT_MISSING', 'video-split.errors.no-path');
  return path.resolve(p.trim());
}

export = function register(RED: NodeAPI): void {
  function VideoSplit(this: Node, config: VideoSplitDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const window = Math.max(2, Math.floor(numberField(config.window, DEFAULT_WINDOW)));
    const windowBytes = Math.max(1, numberField(config.windowMemory, DEFAULT_WINDOW_MB)) * MB;
    const limits = imageLimits(RED);
    const stallMs = Math.max(1, numberField(config.stallTimeout, 300)) * 1000;
    const status = new ThrottledStatus((s) => node.status(s));
    const roots = rootsFromSettings(RED);
    const running = new Map<VideoJob, FrameReader | undefined>();
    let lastProgressAt = 0;

    async function split(msg: SplitMsg, send: (m: Array<NodeMessage | null>) => void, claim: LiveClaim | undefined): Promise<void> {
      const file = await confinePath('video', sourcePath(RED, msg), roots);
      const outputPath = typeof msg.outputPath === 'string' && msg.outputPath ? await confinePath('msg.outputPath', msg.outputPath, roots) : undefined;
      const info = await probeVideo(file);
      const pixels = info.width * info.height;
      if (pixels > limits.maxPixels) throw nodeError(RED, 'IMAGE_TOO_MANY_PIXELS', 'video-split.errors.too-many-pixels', { file, width: info.width, height: info.height, max: limits.maxPixels });
      // The window in frames is what the memory budget holds, at most the frames asked for; the
      // budget also pays for the frames the reader holds ahead of the window.
      const frameBytes = pixels * 3;
      const fits = Math.floor(windowBytes / frameBytes) - READ_AHEAD;
      if (fits < 2) {
        const needed = Math.ceil(((2 + READ_AHEAD) * frameBytes) / MB);
        throw nodeError(RED, 'WINDOW_TOO_SMALL', 'video-split.errors.budget', { width: info.width, height: info.height, frame: (frameBytes / MB).toFixed(1), needed, budget: Math.round(windowBytes / MB) });
      }
      const job = videoJobs.create({
        id: RED.util.generateId(),
        source: file,
        info,
        window: Math.min(window, fits),
        // Named in errors only when it is what limited the window.
        windowBytes: fits < window ? windowBytes : undefined,
        outputPath,
        claim,
      });
      running.set(job, undefined);
      // The claim ended early (time-out, the flow stopped): the job stops, and says nothing, the intake reports it.
      const onAbort = (): void => {
        job.claimReport();
        job.fail(nodeError(RED, 'CLAIM_ENDED', 'video-split.errors.claim-ended', { file, reason: (claim?.signal.reason as Error | undefined)?.message ?? '' }));
      };
      claim?.signal.addEventListener('abort', onAbort, { once: true });
      if (claim?.signal.aborted) onAbort();
      try {
        const reader = await openFrameReader(file, { info });
        running.set(job, reader);
        job.once('fail', () => void reader.close());
        job.on('recycle', (data: Uint8Array) => reader.recycle(data));
        // Frames carry the triggering message's other properties, not its payload.
        const base: Record<string, unknown> = { ...msg };
        delete base.payload;
        delete base._msgid;
        const total = info.frameCount;
        let current: VideoFrame | null = await reader.read();
        if (!current) throw nodeError(RED, 'VIDEO_NOT_A_VIDEO', 'video-split.errors.no-frames', { file });
        while (current) {
          // One frame of look-ahead tells whether this one is the last.
          const next: VideoFrame | null = await reader.read();
          await job.waitForRoom(stallMs, (inFlight) => nodeError(RED, 'VIDEO_STALLED', 'video-split.errors.stalled', { source: file, seconds: Math.round(stallMs / 1000), inFlight }));
          const parts: FrameParts = { id: job.id, index: current.index, type: 'video' };
          if (!next) {
            parts.count = current.index + 1;
            job.count = parts.count;
          }
          const frame: FrameFacts = { index: current.index, timestamp: current.timestamp };
          const out = { ...(RED.util.cloneMessage(base) as object), payload: current.frame, parts, frame } as NodeMessage;
          job.sent++;
          let progress: NodeMessage | null = null;
          const now = Date.now();
          if (now - lastProgressAt >= 1000 || !next) {
            lastProgressAt = now;
            const count = parts.count ?? total;
            status.set({ fill: 'blue', shape: 'dot', text: `${current.index + 1}/${count ?? '?'}` });
            if (config.progress) {
              progress = { payload: { id: job.id, source: file, frame: current.index + 1, count, fraction: count ? (current.index + 1) / count : undefined } };
            }
          }
          send([out, progress]);
          current = next;
        }
        // The reader also ends when the job failed elsewhere (it is closed then): that is no finished video.
        if (job.failure) throw job.failure;
        status.set({ fill: 'green', shape: 'dot', text: RED._('video-split.status.sent', { count: job.count ?? 0 }) });
      } catch (err) {
        job.fail(err as Error);
        // A failure the node that caused it already reported (video-encode, sam3-segment) is not reported twice.
        if (!job.claimReport()) return;
        throw job.failure ?? err;
      } finally {
        claim?.signal.removeEventListener('abort', onAbort);
        const reader = running.get(job);
        running.delete(job);
        await reader?.close();
      }
    }

    node.on('input', (msg: SplitMsg, send, done) => {
      // A message of a watched-folder claim that has ended goes nowhere; a live one is held until the reader has stopped.
      const claim = claimOf(msg);
      if (claim === 'ended') return done();
      const release = claim?.hold(`${node.type} ${node.id}`);
      split(msg, send as (m: Array<NodeMessage | null>) => void, claim).finally(() => release?.()).then(
        () => done(),
        (err: Error) => failMessage(RED, 'video-split', err, done, (s) => status.now(s)),
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      const closing = [...running].map(([job, reader]) => {
        job.fail(nodeError(RED, 'FLOW_STOPPED', 'video-split.errors.stopped', { source: job.source }));
        // The Catch nodes are stopping too: a job cut short by a stop or a redeploy is reported in the log.
        if (job.claimReport()) node.error(job.failure?.message ?? 'the flow was stopped');
        return reader?.close();
      });
      void Promise.allSettled(closing.map((c) => Promise.resolve(c))).then(() => done());
    });
  }

  RED.nodes.registerType('video-split', VideoSplit);
};
