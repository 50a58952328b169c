/**
 * Tracks across the detections of one group of detectors in one video, and
 * the cover they give each frame.
 *
 * Each detection's instances are matched to the tracks seen in the last
 * detections (same label, overlap first, then nearness); a match continues a
 * track, anything else starts one, or takes the id another group of the same
 * video gave the object (TrackBook). Text lines that split or merge between two detections
 * match many-to-one, so the pieces keep their line's track.
 *
 * A frame's cover is what was detected at it plus, for every track not seen
 * there, where the track is: between two sightings, its box interpolated;
 * before its first or after its last sighting (it came or went, or the
 * detector missed it: a turn, a blur, an occlusion), the sighting's box
 * grown by how far its label was seen to move in this shot (by any group of
 * the video, between overlapping sightings), for as many
 * frames as lie between detections or as the hold asks. Sightings never
 * reach across a scene cut.
 */
import { boxRle } from '../common/rle';
import { isTextPrompt } from '../common/concepts';
import type { Box, Instance } from '../common/types';
import { iou } from '../common/boxes';

export interface TrackedInstance extends Instance {
  track: number;
}

export interface TrackerOptions {
  width: number;
  height: number;
  /** Frames a track is kept on each side of its sightings, at least (a missed frame never leaks). */
  hold: number;
  /** Labels whose instances cover the whole frame and are never tracked (a failed detection). */
  wholeFrameLabel: string;
  /** Where new tracks get their ids: shared by the groups of one video, so an object two groups see is one track. */
  book: TrackBook;
}

/**
 * Track ids of one video, shared by its detection groups: an instance that
 * starts a track in one group takes the id of a track another group saw
 * lately at the same place (same label, overlapping), so the face that the
 * per-frame pass and the tiled pass both find is one track.
 */
export class TrackBook {
  private next = 0;
  private readonly recent = new Map<number, { label: string; box: Box; index: number }>();
  /** Fastest motion seen per label and detector (motionKey), per shot (by the shot's first frame), in pixels per frame. */
  private readonly speeds = new Map<number, Map<string, number>>();

  constructor(private readonly reach: number) {}

  /** An id for an instance that continues no track of its own group; `taken`: ids already given in this detection. */
  idFor(inst: Instance, index: number, taken: ReadonlySet<number>): number {
    let best = 0;
    let bestOverlap = 0.3;
    for (const [id, r] of this.recent) {
      if (taken.has(id) || r.label !== inst.label || Math.abs(r.index - index) > this.reach) continue;
      const o = iou(r.box, inst.box);
      if (o >= bestOverlap) {
        best = id;
        bestOverlap = o;
      }
    }
    return best || ++this.next;
  }

  seen(id: number, inst: Instance, index: number): void {
    const r = this.recent.get(id);
    if (!r || r.index <= index) this.recent.set(id, { label: inst.label, box: inst.box, index });
  }

  /** Forgets tracks last seen long before `index`. */
  forget(index: number): void {
    for (const [id, r] of this.recent) if (r.index < index - this.reach) this.recent.delete(id);
  }

  /**
   * Motion of a label in a shot (by the shot's first frame), in pixels per
   * frame: one measure for all groups of the video, so a group that looks
   * every tenth frame grows what it holds by the motion the every-frame
   * group measured.
   */
  measured(shot: number, label: string, step: number): void {
    const speeds = this.speeds.get(shot) ?? new Map<string, number>();
    speeds.set(label, Math.max(speeds.get(label) ?? 0, step));
    this.speeds.set(shot, speeds);
  }

  speed(shot: number, label: string): number | undefined {
    return this.speeds.get(shot)?.get(label);
  }

  /** Forgets the motion of shots before `shot`: no frame still to come lies in them. */
  forgetShotsBefore(shot: number): void {
    for (const s of [...this.speeds.keys()]) if (s < shot) this.speeds.delete(s);
  }
}

interface Sighting {
  index: number;
  instances: TrackedInstance[];
}

/**
 * Motion is measured per label and per detector: the heads of small people
 * (the person detector, heads.ts) share the label `face` with the face
 * detector's faces, and on a clip where a large face crossed the frame, a
 * far-away head that one look missed grew at that face's pace, into a blob
 * many times its size.
 */
const motionKey = (inst: Instance): string => `${inst.label}\n${inst.backend ?? ''}`;

const size = (b: Box): number => Math.max(b[2] - b[0], b[3] - b[1]);
const centre = (b: Box): [number, number] => [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
const grow = (b: Box, by: number): Box => [b[0] - by, b[1] - by, b[2] + by, b[3] + by];
const lerp = (a: Box, b: Box, f: number): Box => a.map((v, i) => v + (b[i] - v) * f) as Box;
const union = (boxes: Box[]): Box => [
  Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3])),
];


const overlaps = (a: Box, b: Box): boolean => Math.min(a[2], b[2]) > Math.max(a[0], b[0]) && Math.min(a[3], b[3]) > Math.max(a[1], b[1]);

/** How alike two boxes are for matching: overlap first, then nearness in units of their size. */
function affinity(a: Box, b: Box): number {
  const overlap = iou(a, b);
  if (overlap > 0) return 1 + overlap;
  const [ax, ay] = centre(a), [bx, by] = centre(b);
  const dist = Math.hypot(ax - bx, ay - by) / Math.max(1, (size(a) + size(b)) / 2);
  return dist < 3 ? 1 / (1 + dist) : 0;
}

/** Greedy one-to-one matching of same-label instances, best affinity first: pairs of indices into a and b. */
export function matchInstances(a: readonly Instance[], b: readonly Instance[]): Array<[number, number]> {
  const pairs: Array<[number, number, number]> = [];
  a.forEach((ia, i) => b.forEach((ib, j) => {
    if (ia.label !== ib.label) return;
    const s = affinity(ia.box, ib.box);
    if (s > 0) pairs.push([i, j, s]);
  }));
  pairs.sort((x, y) => y[2] - x[2]);
  const usedA = new Set<number>(), usedB = new Set<number>();
  const out: Array<[number, number]> = [];
  for (const [i, j] of pairs) {
    if (usedA.has(i) || usedB.has(j)) continue;
    usedA.add(i);
    usedB.add(j);
    out.push([i, j]);
  }
  return out;
}

export class Tracker {
  private sightings: Sighting[] = [];
  /** First frames of shots after the first, ascending (scene cuts). */
  private cuts: number[] = [];
  private readonly diagonal: number;

  constructor(private readonly o: TrackerOptions) {
    this.diagonal = Math.hypot(o.width, o.height);
  }

  /** A scene cut before frame `index`: nothing is matched, held or measured across it. */
  cut(index: number): void {
    if (!this.cuts.includes(index)) this.cuts.push(index);
    this.cuts.sort((a, b) => a - b);
  }

  private shotOf(index: number): [number, number] {
    let start = 0;
    let end = Infinity;
    for (const c of this.cuts) {
      if (c <= index) start = c;
      else {
        end = c;
        break;
      }
    }
    return [start, end];
  }

  private shotSightings(t: number): Sighting[] {
    const [start, end] = this.shotOf(t);
    return this.sightings.filter((s) => s.index >= start && s.index < end);
  }

  /** Adds a detection (in frame order) and gives its instances their tracks. */
  add(index: number, instances: readonly Instance[]): TrackedInstance[] {
    const [start] = this.shotOf(index);
    const tracked: TrackedInstance[] = instances.map((inst) => ({ ...inst, track: 0 }));
    const trackable = (inst: Instance): boolean => inst.label !== this.o.wholeFrameLabel;
    // Tracks to continue: the last sighting of each track seen lately in this shot (the last two
    // detections, and any within twice the hold, so a track survives a missed detection or two).
    const earlier = this.sightings.filter((s) => s.index >= start && s.index < index);
    const previous = earlier.at(-2)?.index ?? earlier.at(-1)?.index ?? index;
    const horizon = Math.min(previous, index - (2 * this.o.hold + 1));
    const last = new Map<number, { inst: TrackedInstance; index: number }>();
    for (const s of earlier) if (s.index >= horizon) for (const inst of s.instances) if (inst.track) last.set(inst.track, { inst, index: s.index });
    const before = [...last.values()];
    const now = tracked.filter(trackable);
    for (const [i, j] of matchInstances(before.map((b) => b.inst), now)) {
      now[j].track = before[i].inst.track;
      this.measure(start, before[i].inst, now[j], index - before[i].index);
    }
    // Text lines that split or merged: a piece overlapping a line of the other detection continues its track.
    for (const inst of now) {
      if (inst.track || !isTextPrompt(inst.label)) continue;
      const parent = before.find((b) => b.inst.label === inst.label && overlaps(b.inst.box, inst.box));
      if (parent) inst.track = parent.inst.track;
    }
    const taken = new Set(tracked.map((i) => i.track).filter(Boolean));
    for (const inst of tracked) {
      if (inst.track || !trackable(inst)) continue;
      inst.track = this.o.book.idFor(inst, index, taken);
      taken.add(inst.track);
    }
    for (const inst of tracked) if (inst.track) this.o.book.seen(inst.track, inst, index);
    this.sightings.push({ index, instances: tracked });
    return tracked;
  }

  /**
   * Only a match whose boxes overlap measures motion. A match across a gap
   * is made by nearness too (up to three sizes away), and on a stride that
   * can pair two different objects: false alarms of the tiled pass ten
   * frames apart looked like one face moving 40 px per frame, and every
   * face held in that shot then grew into a frame-sized blob.
   */
  private measure(shot: number, a: Instance, b: Instance, frames: number): void {
    if (!overlaps(a.box, b.box)) return;
    const [ax, ay] = centre(a.box), [bx, by] = centre(b.box);
    this.o.book.measured(shot, motionKey(a), Math.min(this.maxStep(), Math.hypot(bx - ax, by - ay) / Math.max(1, frames)));
  }

  /** Motion never assumed faster than this, per frame: 5 % of the frame's diagonal. */
  private maxStep(): number {
    return 0.05 * this.diagonal;
  }

  /**
   * How far an instance (its label and detector: `key`, of size `size`) may
   * have moved in `frames` frames: as fast as its kind was seen to move in
   * this shot; before anything of its kind was matched, a quarter of its size per frame
   * (at least 1 % of the diagonal); capped.
   */
  private reach(shot: number, key: string, boxSize: number, frames: number): number {
    const measured = this.o.book.speed(shot, key);
    const step = measured ?? Math.min(this.maxStep(), Math.max(0.01 * this.diagonal, 0.25 * boxSize));
    return Math.min(0.25 * this.diagonal, frames * step);
  }

  /** Drops sightings that no frame from `before` on can need. */
  forget(before: number): void {
    // A sighting reaches frames up to twice the hold away (a miss it brackets), and the last one
    // before that still brackets the stride interval that follows it.
    const horizon = before - (2 * this.o.hold + 2);
    const firstNeeded = this.sightings.findIndex((s) => s.index >= horizon);
    const drop = Math.max(0, (firstNeeded < 0 ? this.sightings.length : firstNeeded) - 1);
    if (drop > 0) this.sightings.splice(0, drop);
    // Frames from `before` on lie in its shot or later ones.
    this.o.book.forgetShotsBefore(this.shotOf(before)[0]);
  }

  /** Instances covering frame `t`: fresh where this group detected at `t`, carried otherwise. */
  coverFor(t: number): TrackedInstance[] {
    const shot = this.shotSightings(t);
    const [shotStart] = this.shotOf(t);
    const at = shot.find((s) => s.index === t);
    const out: TrackedInstance[] = at ? at.instances.map((i) => ({ ...i, carried: false })) : [];
    const seenHere = new Set(out.map((i) => i.track));
    const prevDet = prevBefore(shot, t);
    const nextDet = nextAfter(shot, t);
    // A failed detection next to t covers every frame up to the next good one, whole (fail closed).
    if (!at) {
      for (const s of shot.filter((x) => x.index === prevDet || x.index === nextDet)) {
        for (const inst of s.instances) if (inst.label === this.o.wholeFrameLabel) out.push({ ...inst, carried: true });
      }
    }
    const tracks = new Map<number, Array<{ index: number; box: Box; inst: TrackedInstance }>>();
    for (const s of shot) {
      const byTrack = new Map<number, TrackedInstance[]>();
      for (const inst of s.instances) if (inst.track) byTrack.set(inst.track, [...(byTrack.get(inst.track) ?? []), inst]);
      for (const [track, insts] of byTrack) tracks.set(track, [...(tracks.get(track) ?? []), { index: s.index, box: union(insts.map((i) => i.box)), inst: insts[0] }]);
    }
    for (const [track, seen] of tracks) {
      if (seenHere.has(track)) continue;
      const p = [...seen].reverse().find((x) => x.index < t);
      const n = seen.find((x) => x.index > t);
      let box: Box | undefined;
      if (p && n && this.brackets(shot, p.index, n.index)) {
        // Between two sightings: where it is on the way, grown by its own motion and a tenth of its size.
        const span = n.index - p.index;
        const [ax, ay] = centre(p.box), [bx, by] = centre(n.box);
        const step = Math.min(this.maxStep(), Math.hypot(bx - ax, by - ay) / span);
        box = grow(lerp(p.box, n.box, (t - p.index) / span), step + 0.1 * Math.max(size(p.box), size(n.box)));
      } else if (p && t - p.index <= Math.max(this.o.hold, (nextAfter(shot, p.index) ?? Infinity) - p.index - 1)) {
        // After its last sighting: until this group looks again, and at least the hold.
        box = grow(p.box, this.reach(shotStart, motionKey(p.inst), size(p.box), t - p.index) + 0.1 * size(p.box));
      } else if (n && n.index - t <= Math.max(this.o.hold, n.index - (prevBefore(shot, n.index) ?? -Infinity) - 1)) {
        // Before its first sighting: since this group last looked, and at least the hold.
        box = grow(n.box, this.reach(shotStart, motionKey(n.inst), size(n.box), n.index - t) + 0.1 * size(n.box));
      }
      if (!box) continue;
      const inst = this.boxInstance((p ?? n)?.inst as TrackedInstance, box);
      if (inst) out.push(inst);
    }
    return out;
  }

  /** Whether sightings at a and b bracket the frames between: consecutive detections (a stride), or misses within twice the hold. */
  private brackets(shot: readonly Sighting[], a: number, b: number): boolean {
    const between = shot.some((s) => s.index > a && s.index < b);
    return !between || b - a <= 2 * this.o.hold + 1;
  }

  private boxInstance(from: TrackedInstance, b: Box): TrackedInstance | null {
    const { width, height } = this.o;
    const box: Box = [Math.max(0, Math.floor(b[0])), Math.max(0, Math.floor(b[1])), Math.min(width, Math.ceil(b[2])), Math.min(height, Math.ceil(b[3]))];
    const w = box[2] - box[0], h = box[3] - box[1];
    if (w <= 0 || h <= 0) return null;
    return { ...from, box, mask: boxRle(box, width, height), carried: true };
  }
}

function nextAfter(s: readonly Sighting[], index: number): number | undefined {
  return s.find((x) => x.index > index)?.index;
}

function prevBefore(s: readonly Sighting[], index: number): number | undefined {
  for (let i = s.length - 1; i >= 0; i--) if (s[i].index < index) return s[i].index;
  return undefined;
}
