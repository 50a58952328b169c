/**
 * The video jobs in flight in this Node-RED process. video-split creates a
 * job per video; frames travel as separate messages carrying only the job id
 * (msg.parts.id), and the nodes downstream find the video's facts here
 * instead of in every frame. The job is also how the nodes of one video
 * talk: video-encode releases frames (so video-split may read more), and any
 * of them can fail the job, which stops the reader and removes the partial
 * output.
 */
import { EventEmitter } from 'node:events';
import type { VideoInfo } from '../../video';
import type { LiveClaim } from '../../watch/live-claims';

export interface VideoJobInit {
  id: string;
  source: string;
  info: VideoInfo;
  /** Frames sent and not yet released by video-encode, at most. */
  window: number;
  /** The memory budget the window was sized from (bytes), for error messages. */
  windowBytes?: number;
  /** Output path asked for by the message that started the job. */
  outputPath?: string;
  /** The watched-folder claim of the video, if it came from one: its result goes to the claim's staging file. */
  claim?: LiveClaim;
}

export class VideoJob extends EventEmitter {
  readonly id: string;
  readonly source: string;
  readonly info: VideoInfo;
  readonly window: number;
  readonly windowBytes: number | undefined;
  readonly outputPath?: string;
  readonly claim?: LiveClaim;
  readonly startedAt = Date.now();
  sent = 0;
  released = 0;
  /** Known once the last frame was read. */
  count: number | undefined;
  failure: Error | undefined;
  finished = false;
  /** Why detections failed on frames that were then hidden whole (fail closed), each reason once. */
  readonly coveredWholeBecause: string[] = [];
  private reported = false;

  constructor(init: VideoJobInit) {
    super();
    this.id = init.id;
    this.source = init.source;
    this.info = init.info;
    this.window = init.window;
    this.windowBytes = init.windowBytes;
    this.outputPath = init.outputPath;
    this.claim = init.claim;
  }

  get inFlight(): number {
    return this.sent - this.released;
  }

  release(frames = 1): void {
    this.released += frames;
    this.emit('release');
  }

  /**
   * A frame's pixels are no longer needed (video-encode wrote them): the
   * reader may reuse the buffer for a later frame of this job.
   */
  recycle(data: Uint8Array): void {
    this.emit('recycle', data);
  }

  noteCoveredWhole(reason: string): void {
    if (!this.coveredWholeBecause.includes(reason) && this.coveredWholeBecause.length < 10) this.coveredWholeBecause.push(reason);
  }

  /** Fails the job once; every node holding part of it hears 'fail'. */
  fail(err: Error): void {
    if (this.failure || this.finished) return;
    this.failure = err;
    this.emit('fail', err);
    forget(this.id);
  }

  /**
   * Whether the caller is the one to report the job's failure (to a Catch
   * node or the log): true once only, so that a failed video is one error
   * however many nodes hear of it.
   */
  claimReport(): boolean {
    if (this.reported) return false;
    this.reported = true;
    return true;
  }

  finish(): void {
    if (this.failure || this.finished) return;
    this.finished = true;
    this.emit('finish');
    forget(this.id);
  }

  /**
   * Resolves when fewer than `window` frames are in flight. Rejects when the
   * job fails, or when nothing is released for `stallMs` (a node downstream
   * dropped a frame or the flow is miswired): failing closed beats hanging.
   */
  waitForRoom(stallMs: number, stalled: (inFlight: number) => Error): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight < this.window) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('release', onRelease);
        this.off('fail', onFail);
      };
      const onRelease = (): void => {
        if (this.inFlight < this.window) {
          cleanup();
          resolve();
        }
      };
      const onFail = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const timer = setTimeout(() => {
        cleanup();
        const err = stalled(this.inFlight);
        this.fail(err);
        reject(err);
      }, stallMs);
      this.on('release', onRelease);
      this.on('fail', onFail);
    });
  }
}

const jobs = new Map<string, VideoJob>();
/**
 * Ids of jobs that ended, newest last: frames of a failed video may still be
 * on their way through the flow, and they are dropped quietly (the failure is
 * reported once) instead of being reported as strays. Bounded, oldest out.
 */
const ended = new Set<string>();
const MAX_ENDED = 1000;

function forget(id: string): void {
  jobs.delete(id);
  ended.add(id);
  if (ended.size > MAX_ENDED) ended.delete(ended.values().next().value as string);
}

export const videoJobs = {
  create(init: VideoJobInit): VideoJob {
    const job = new VideoJob(init);
    // Several nodes listen to one job; the default limit of 10 is not a leak here.
    job.setMaxListeners(0);
    jobs.set(job.id, job);
    return job;
  },
  get(id: unknown): VideoJob | undefined {
    return typeof id === 'string' ? jobs.get(id) : undefined;
  },
  /** Whether `id` names a job that has already failed or finished. */
  hasEnded(id: unknown): boolean {
    return typeof id === 'string' && ended.has(id);
  },
};

/** Frame facts every frame message carries (the video's facts stay in the job). */
export interface FrameFacts {
  index: number;
  timestamp: number;
}

export interface FrameParts {
  id: string;
  index: number;
  type: 'video';
  /** Set on the last frame, when the total is known. */
  count?: number;
}
