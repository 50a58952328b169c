/**
 * sam3-segment's handling of video frames: per job, a schedule of detection
 * groups, each on its own stride (the face detector's single pass on every
 * frame, its tiled pass and the other detectors every few frames), tracks
 * that carry covers between detections and hold them across a missed frame
 * or two, and frames that go on in order once every group can cover them.
 */
import { CodedError } from '../../common/coded-error';
import type { Instance, RawFrame } from '../../common/types';
import { FrameSchedule } from '../../video/frame-schedule';
import { frameSignature, isSceneCut } from '../../video/scene-cut';
import type { TrackedInstance } from '../../video/tracks';
import type { FrameParts, VideoJob } from './video-jobs';

export interface FrameItem {
  frame: RawFrame;
  /** Runs a fresh detection of one group on this frame. */
  detect: (group: string) => Promise<Instance[]>;
  /** Sends the frame on with these instances. */
  emit: (instances: TrackedInstance[], carried: boolean) => void;
  /** Ends the frame's message without sending it (the job failed). */
  end: (err?: Error) => void;
}

export interface GroupSetting {
  name: string;
  stride: number;
}

export interface VideoFrameOptions {
  /** Frames a track is held on each side of its sightings. */
  hold: number;
  /** Mean grey-level change that counts as a scene cut; 0 turns cut detection off. */
  sceneCut: number;
  onDetectionError: 'redact' | 'fail';
  /** The node's RED._: error messages come from its locale. */
  words: (key: string, params?: Record<string, string | number>) => string;
}

interface JobState {
  schedule: FrameSchedule<FrameItem>;
  previous?: Float32Array;
}

export class VideoFrames {
  private readonly jobs = new Map<string, JobState>();

  constructor(private readonly o: VideoFrameOptions) {}

  /**
   * A frame of `job`. `groups`: the detection groups this video needs (its
   * first frame decides; a group with nothing to find would only make frames
   * wait for its stride).
   */
  push(job: VideoJob, parts: FrameParts, item: FrameItem, groups: GroupSetting[]): void {
    let state = this.jobs.get(job.id);
    if (!state) {
      const needed = FrameSchedule.framesHeld(groups, this.o.hold) + 2;
      if (job.window < needed) {
        // Frames between two detections are held until the next one: they must fit in the window.
        const frameMb = (job.info.width * job.info.height * 3) / 1024 / 1024;
        const budget = job.windowBytes !== undefined
          ? this.o.words('sam3-segment.errors.stride-window-memory', { budget: Math.round(job.windowBytes / 1024 / 1024) })
          : this.o.words('sam3-segment.errors.stride-window-frames');
        const strides = [...new Set(groups.map((g) => g.stride))].join(' / ');
        const err = new CodedError('WINDOW_TOO_SMALL', this.o.words('sam3-segment.errors.stride-window', {
          strides, hold: this.o.hold, needed, frame: frameMb.toFixed(1), total: Math.ceil(needed * frameMb), width: job.info.width, height: job.info.height, window: job.window, budget,
        }));
        job.fail(err);
        item.end(job.claimReport() ? err : undefined);
        return;
      }
      state = this.start(job, groups);
    }
    let cut = false;
    if (this.o.sceneCut > 0) {
      const sig = frameSignature(item.frame);
      cut = state.previous !== undefined && isSceneCut(state.previous, sig, this.o.sceneCut);
      state.previous = sig;
    }
    state.schedule.push(parts.index, item, { last: parts.count !== undefined, cut });
  }

  private start(job: VideoJob, groups: GroupSetting[]): JobState {
    const schedule = new FrameSchedule<FrameItem>({
      groups: groups.map((g) => ({ name: g.name, stride: g.stride, detect: (_index, item) => item.detect(g.name) })),
      width: job.info.width,
      height: job.info.height,
      hold: this.o.hold,
      onDetectionError: this.o.onDetectionError,
      // A prompt no installed model answers fails a photo; a video fails too, before its first frame goes on, not hidden whole frame by frame.
      fatal: (err) => (err as { code?: unknown }).code === 'MODEL_UNAVAILABLE',
      coveredWhole: (err) => job.noteCoveredWhole(err.message),
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
