/**
 * sam3-segment's handling of video frames: per job, a stride schedule
 * decides which frames get a fresh detection and lets the others go on, in
 * order, with the cover carried from the detections on either side.
 */
import { CodedError } from '../../common/coded-error';
import type { Instance, RawFrame } from '../../common/types';
import { frameSignature, isSceneCut } from '../../video/scene-cut';
import { StrideSchedule } from '../../video/stride-schedule';
import type { FrameParts, VideoJob } from './video-jobs';

export interface FrameItem {
  frame: RawFrame;
  /** Runs a fresh detection on this frame. */
  detect: () => Promise<Instance[]>;
  /** Sends the frame on with these instances. */
  emit: (instances: Instance[], carried: boolean) => void;
  /** Ends the frame's message without sending it (the job failed). */
  end: (err?: Error) => void;
}

export interface VideoFrameOptions {
  stride: number;
  /** Mean grey-level change that counts as a scene cut; 0 turns cut detection off. */
  sceneCut: number;
  onDetectionError: 'redact' | 'fail';
  /** The node's RED._: error messages come from its locale. */
  words: (key: string, params?: Record<string, string | number>) => string;
}

interface JobState {
  schedule: StrideSchedule<FrameItem>;
  previous?: Float32Array;
}

export class VideoFrames {
  private readonly jobs = new Map<string, JobState>();

  constructor(private readonly o: VideoFrameOptions) {}

  push(job: VideoJob, parts: FrameParts, item: FrameItem): void {
    let state = this.jobs.get(job.id);
    if (!state) {
      if (job.window < this.o.stride + 2) {
        // Frames between two detections are held until the next one: stride + 2 must fit in the window.
        const frameMb = (job.info.width * job.info.height * 3) / 1024 / 1024;
        const needed = this.o.stride + 2;
        const budget = job.windowBytes !== undefined
          ? this.o.words('sam3-segment.errors.stride-window-memory', { budget: Math.round(job.windowBytes / 1024 / 1024) })
          : this.o.words('sam3-segment.errors.stride-window-frames');
        const err = new CodedError('WINDOW_TOO_SMALL', this.o.words('sam3-segment.errors.stride-window', {
          stride: this.o.stride, needed, frame: frameMb.toFixed(1), total: Math.ceil(needed * frameMb), width: job.info.width, height: job.info.height, window: job.window, budget,
        }));
        job.fail(err);
        item.end(job.claimReport() ? err : undefined);
        return;
      }
      state = this.start(job);
    }
    let cut = false;
    if (this.o.sceneCut > 0) {
      const sig = frameSignature(item.frame);
      cut = state.previous !== undefined && isSceneCut(state.previous, sig, this.o.sceneCut);
      state.previous = sig;
    }
    state.schedule.push(parts.index, item, { last: parts.count !== undefined, cut });
  }

  private start(job: VideoJob): JobState {
    const schedule = new StrideSchedule<FrameItem>({
      stride: this.o.stride,
      width: job.info.width,
      height: job.info.height,
      onDetectionError: this.o.onDetectionError,
      detect: (_index, item) => item.detect(),
      emit: (index, item, instances, carried) => {
        item.emit(instances, carried);
        if (job.count !== undefined && index === job.count - 1) this.jobs.delete(job.id);
      },
      fail: (err, held) => {
        this.jobs.delete(job.id);
        job.fail(err);
        const report = job.claimReport();
        held.forEach((item, i) => item.end(i === 0 && report ? err : undefined));
      },
    });
    const state: JobState = { schedule };
    job.once('fail', () => {
      if (this.jobs.get(job.id) !== state) return;
      this.jobs.delete(job.id);
      for (const item of schedule.abandon()) item.end();
    });
    this.jobs.set(job.id, state);
    return state;
  }

  /** Ends every held frame (the node is closing). */
  close(): void {
    for (const state of this.jobs.values()) for (const item of state.schedule.abandon()) item.end();
    this.jobs.clear();
  }
}
