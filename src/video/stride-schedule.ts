/**
 * Which frames of a video get a fresh detection, and when each frame may go
 * on. Frames arrive in order; a frame is detected on the stride, on a scene
 * cut (and the frame before it, so the old shot is bracketed by its own
 * detections), and at the first and last frame. A frame between two
 * detections waits until both are known and then goes on with the cover of
 * both (coverage.ts). Frames leave in order.
 */
import type { Instance } from '../common/types';
import { coverBetween, wholeFrame, type Detection } from './coverage';

export interface StrideScheduleOptions<T> {
  stride: number;
  width: number;
  height: number;
  /** Runs a detection. */
  detect: (index: number, item: T) => Promise<Instance[]>;
  /** A frame may go on, with fresh (carried = false) or carried instances. */
  emit: (index: number, item: T, instances: Instance[], carried: boolean) => void;
  /**
   * 'redact': a failed detection covers its frames with the whole frame
   * (nothing unredacted goes on); 'fail': the job fails.
   */
  onDetectionError: 'redact' | 'fail';
  /**
   * Called once when a detection fails under onDetectionError 'fail', with
   * the frames still held (none is emitted after this).
   */
  fail: (err: Error, held: T[]) => void;
}

export class StrideSchedule<T> {
  private readonly buffer = new Map<number, T>();
  private readonly results = new Map<number, Instance[]>();
  private readonly scheduled: number[] = [];
  private lastScheduled = -Infinity;
  private nextEmit: number | undefined;
  private previous: Detection | undefined;
  private failed = false;
  /** Detections started and not yet settled. */
  running = 0;

  constructor(private readonly o: StrideScheduleOptions<T>) {
    if (!Number.isInteger(o.stride) || o.stride < 1) throw new RangeError(`stride must be a whole number >= 1, got ${o.stride}`);
  }

  /** Frames held back, waiting for a detection. */
  get held(): number {
    return this.buffer.size;
  }

  get done(): boolean {
    return this.failed || (this.buffer.size === 0 && this.running === 0);
  }

  push(index: number, item: T, flags: { last?: boolean; cut?: boolean } = {}): void {
    if (this.failed) return;
    if (this.nextEmit === undefined) this.nextEmit = index;
    this.buffer.set(index, item);
    const prev = index - 1;
    if (flags.cut && prev > this.lastScheduled && this.buffer.has(prev)) this.schedule(prev);
    if (index === this.nextEmit || index - this.lastScheduled >= this.o.stride || flags.last || flags.cut) this.schedule(index);
  }

  /** Stops the schedule (the job failed elsewhere) and hands back the frames it held. */
  abandon(): T[] {
    this.failed = true;
    const held = [...this.buffer.values()];
    this.buffer.clear();
    this.results.clear();
    return held;
  }

  private schedule(index: number): void {
    this.lastScheduled = index;
    this.scheduled.push(index);
    this.running++;
    const item = this.buffer.get(index) as T;
    this.o
      .detect(index, item)
      .then(
        (instances) => this.results.set(index, instances),
        (err: Error) => {
          if (this.o.onDetectionError === 'fail') {
            if (!this.failed) this.o.fail(err, this.abandon());
            return;
          }
          this.results.set(index, [wholeFrame(this.o.width, this.o.height)]);
        },
      )
      .finally(() => {
        this.running--;
        this.flush();
      });
  }

  private flush(): void {
    while (!this.failed && this.nextEmit !== undefined && this.buffer.has(this.nextEmit)) {
      const t = this.nextEmit;
      const item = this.buffer.get(t) as T;
      const fresh = this.results.get(t);
      if (fresh) {
        this.o.emit(t, item, fresh, false);
        this.previous = { index: t, instances: fresh };
      } else {
        const next = this.scheduled.find((s) => s > t);
        const after = next === undefined ? undefined : this.results.get(next);
        if (!after || !this.previous) break;
        this.o.emit(t, item, coverBetween(this.previous, { index: next as number, instances: after }, t, this.o.width, this.o.height), true);
      }
      this.buffer.delete(t);
      this.nextEmit = t + 1;
      // Detections before the one now bracketing the next frame are no longer needed.
      while (this.scheduled.length > 0 && this.scheduled[0] < (this.previous?.index ?? 0)) this.results.delete(this.scheduled.shift() as number);
    }
  }
}
