/**
 * Which frames of a video each group of detectors looks at, and when each
 * frame may go on. Groups have strides of their own: the face detector's
 * single pass on every frame, its tiled pass and slower detectors every few
 * frames. Each group detects on its stride, at the first and the last frame,
 * and on both sides of a scene cut. A frame goes on once every group can
 * cover it: its own detection, or the detections around it plus the frames
 * a track is held (tracks.ts), so frames wait for detections up to `hold`
 * frames later. Frames leave in order, each with every track that covers it.
 */
import { boxRle } from '../common/rle';
import type { Instance } from '../common/types';
import { TrackBook, Tracker, type TrackedInstance } from './tracks';

/** The label of a cover that hides a whole frame because its detection failed (fail closed). */
export const FAILED_LABEL = '*detection failed*';

export function wholeFrame(width: number, height: number): Instance {
  return { label: FAILED_LABEL, score: 1, box: [0, 0, width, height], mask: boxRle([0, 0, width, height], width, height) };
}

/**
 * One of each fresh sighting two groups made alike: the tiled pass repeats
 * the whole-frame pass, so on its frames each face came twice, with the same
 * box and mask, and mask-blur built and blurred every such cover twice. The
 * higher score is kept, so no score filter downstream drops what the other
 * copy would have passed. (Their track ids can differ: each group's tracker
 * asks the shared book for an id, and one that ran ahead may have moved on.)
 */
export function withoutRepeats(instances: TrackedInstance[]): TrackedInstance[] {
  const kept = new Map<string, number>();
  const out: TrackedInstance[] = [];
  for (const inst of instances) {
    if (inst.carried) {
      out.push(inst);
      continue;
    }
    const key = `${inst.label}\n${inst.box.join(',')}\n${inst.mask.size.join(',')}\n${inst.mask.counts}`;
    const at = kept.get(key);
    if (at === undefined) {
      kept.set(key, out.length);
      out.push(inst);
    } else if (inst.score > out[at].score) {
      out[at] = inst;
    }
  }
  return out;
}

export interface DetectionGroup<T> {
  name: string;
  /** Detect every `stride` frames (and at the first and last frame, and around scene cuts). */
  stride: number;
  detect: (index: number, item: T) => Promise<Instance[]>;
}

export interface FrameScheduleOptions<T> {
  groups: Array<DetectionGroup<T>>;
  width: number;
  height: number;
  /** Frames a track is kept on each side of its sightings (a missed frame or two never leaks). */
  hold: number;
  /** A frame may go on, with its instances; `carried` when no group detected on it. */
  emit: (index: number, item: T, instances: TrackedInstance[], carried: boolean) => void;
  /** 'redact': a failed detection covers its frames whole (nothing unredacted goes on); 'fail': the job fails. */
  onDetectionError: 'redact' | 'fail';
  /** Called once when a detection fails under 'fail', with the frames still held (none is emitted after this). */
  fail: (err: Error, held: T[]) => void;
  /** Errors that fail the job whatever onDetectionError says (a model that is not installed fails every frame alike). */
  fatal?: (err: Error) => boolean;
  /** A detection failed and its frames are covered whole: why (for the audit). */
  coveredWhole?: (err: Error) => void;
}

interface GroupState<T> {
  spec: DetectionGroup<T>;
  scheduled: number[];
  results: Map<number, Instance[]>;
  /** How many of `scheduled` the tracker has been given. */
  fed: number;
  lastScheduled: number;
  tracker: Tracker;
}

export class FrameSchedule<T> {
  private readonly buffer = new Map<number, T>();
  private readonly groups: Array<GroupState<T>>;
  private nextEmit: number | undefined;
  private lastIndex: number | undefined;
  private failed = false;
  private readonly book: TrackBook;
  /** Detections started and not yet settled. */
  running = 0;

  constructor(private readonly o: FrameScheduleOptions<T>) {
    if (o.groups.length === 0) throw new RangeError('a frame schedule needs at least one detection group');
    for (const g of o.groups) {
      if (!Number.isInteger(g.stride) || g.stride < 1) throw new RangeError(`stride of ${g.name} must be a whole number >= 1, got ${g.stride}`);
    }
    if (!Number.isInteger(o.hold) || o.hold < 0) throw new RangeError(`hold must be a whole number >= 0, got ${o.hold}`);
    // Groups see an object at most their longest stride apart.
    const book = new TrackBook(Math.max(2 * o.hold + 1, ...o.groups.map((g) => 2 * g.stride)));
    this.book = book;
    this.groups = o.groups.map((spec) => ({
      spec,
      scheduled: [],
      results: new Map(),
      fed: 0,
      lastScheduled: -Infinity,
      tracker: new Tracker({ width: o.width, height: o.height, hold: o.hold, wholeFrameLabel: FAILED_LABEL, book }),
    }));
  }

  /** Frames a schedule with these groups and hold may hold back at once: the window must allow at least this many, plus two. */
  static framesHeld(groups: ReadonlyArray<{ stride: number }>, hold: number): number {
    return Math.max(...groups.map((g) => Math.max(g.stride, hold + 1)));
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
    if (flags.last) this.lastIndex = index;
    for (const g of this.groups) {
      const prev = index - 1;
      if (flags.cut) {
        g.tracker.cut(index);
        // The old shot is bracketed by a detection of its own.
        if (prev > g.lastScheduled && this.buffer.has(prev)) this.schedule(g, prev);
      }
      if (index === this.nextEmit || index - g.lastScheduled >= g.spec.stride || flags.last || flags.cut) this.schedule(g, index);
    }
    this.flush();
  }

  /** Stops the schedule (the job failed elsewhere) and hands back the frames it held. */
  abandon(): T[] {
    this.failed = true;
    const held = [...this.buffer.values()];
    this.buffer.clear();
    for (const g of this.groups) g.results.clear();
    return held;
  }

  private schedule(g: GroupState<T>, index: number): void {
    g.lastScheduled = index;
    g.scheduled.push(index);
    g.scheduled.sort((a, b) => a - b);
    this.running++;
    const item = this.buffer.get(index) as T;
    g.spec
      .detect(index, item)
      .then(
        (instances) => g.results.set(index, instances),
        (err: Error) => {
          if (this.o.onDetectionError === 'fail' || this.o.fatal?.(err)) {
            if (!this.failed) this.o.fail(err, this.abandon());
            return;
          }
          this.o.coveredWhole?.(err);
          g.results.set(index, [wholeFrame(this.o.width, this.o.height)]);
        },
      )
      .finally(() => {
        this.running--;
        this.flush();
      });
  }

  /** Gives the tracker every result it can take in order; whether every detection up to `upTo` is in. */
  private feed(g: GroupState<T>, upTo: number): boolean {
    while (g.fed < g.scheduled.length) {
      const index = g.scheduled[g.fed];
      const result = g.results.get(index);
      if (!result) break;
      g.tracker.add(index, result);
      g.results.delete(index);
      g.fed++;
    }
    return g.fed >= g.scheduled.length || g.scheduled[g.fed] > upTo;
  }

  /** Whether group g can cover frame t: its detections up to the first one at least `hold` frames later are in. */
  private ready(g: GroupState<T>, t: number): boolean {
    const needed = g.scheduled.find((s) => s >= t + this.o.hold);
    if (needed === undefined) {
      // No such detection yet: only the end of the video lets the frame go.
      if (this.lastIndex === undefined || g.lastScheduled < this.lastIndex) return false;
      return this.feed(g, this.lastIndex);
    }
    return this.feed(g, needed);
  }

  private flush(): void {
    while (!this.failed && this.nextEmit !== undefined && this.buffer.has(this.nextEmit)) {
      const t = this.nextEmit;
      if (!this.groups.every((g) => this.ready(g, t))) break;
      const item = this.buffer.get(t) as T;
      const all = this.groups.flatMap((g) => g.tracker.coverFor(t));
      // Where one group saw a track on this frame, another group's guess at where it is gives way.
      const fresh = new Set(all.filter((i) => !i.carried).map((i) => i.track));
      const instances = withoutRepeats(all.filter((i) => !i.carried || !fresh.has(i.track) || !i.track));
      const carried = !this.groups.some((g) => g.scheduled.includes(t));
      this.buffer.delete(t);
      this.nextEmit = t + 1;
      this.book.forget(t + 1);
      for (const g of this.groups) {
        g.tracker.forget(t + 1);
        // What the tracker has, this list need not keep: only detections still to come or to be fed.
        while (g.fed > 0 && g.scheduled[0] <= t) {
          g.scheduled.shift();
          g.fed--;
        }
      }
      this.o.emit(t, item, instances, carried);
    }
  }
}
