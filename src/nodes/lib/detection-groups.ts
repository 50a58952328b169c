/**
 * Which detectors run on which frames of a video: sam3-segment's groups,
 * each on its own stride. Faces (the face detector's single pass) on every
 * frame by default; small faces (its tiles) on their own stride; people,
 * vehicles and plates on theirs; SAM 3 and text ('others') on theirs. People,
 * vehicles and plates join 'others' when both strides are equal: one engine
 * call then serves both, and the text detector that plates build on runs once
 * per frame, not twice.
 */
import { DEFAULT_MIN_FACE, isFacePrompt, isObjectPrompt, isPlatePrompt, readPrompts, type LabelBackend, type Prompt, type PromptEntry, type RedactionSegmentOptions, type Sam3Joins } from '../../engine';
import { numberField } from './properties';
import type { GroupSetting } from './video-frames';

type Group = 'faces' | 'objects' | 'others';

/** The frame rate strides are counted at. */
const FULL_RATE = 30;

export interface GroupConfig {
  faceStride?: string | number;
  smallFaceStride?: string | number;
  objectStride?: string | number;
  stride?: string | number;
  smallestFace?: string | number;
}

export interface Strides {
  faces: number;
  smallFaces: number;
  objects: number;
  others: number;
}

const asPrompt = (e: PromptEntry, backend = e.backend): Prompt => ({ text: e.label, ...(e.threshold !== undefined ? { threshold: e.threshold } : {}), ...(backend ? { backend } : {}) });

export class DetectionGroups {
  /** Frames between detections, per group (1 = every frame; 0 turns the small-face pass off). */
  readonly strides: Strides;
  /** The smallest face the tiled pass looks for, in pixels: below the detector's own 12 it would only add passes that find nothing new. */
  readonly smallestFace: number;
  private readonly ownObjects: boolean;

  constructor(config: GroupConfig, private readonly sam3Joins: Sam3Joins) {
    this.strides = {
      faces: Math.max(1, Math.floor(numberField(config.faceStride, 1))),
      smallFaces: Math.max(0, Math.floor(numberField(config.smallFaceStride, 10))),
      objects: Math.max(1, Math.floor(numberField(config.objectStride, 10))),
      others: Math.max(1, Math.floor(numberField(config.stride, 10))),
    };
    this.smallestFace = Math.max(DEFAULT_MIN_FACE, numberField(config.smallestFace, DEFAULT_MIN_FACE));
    this.ownObjects = this.strides.objects !== this.strides.others;
  }

  /** A prompt's group: its backend's, or 'others'; `ownObjects` false folds people, vehicles and plates into 'others'. */
  private groupOf(e: PromptEntry, ownObjects = this.ownObjects): Group {
    if (isFacePrompt(e.label) && (e.backend === undefined || e.backend === 'face')) return 'faces';
    const objects = (isObjectPrompt(e.label) && (e.backend === undefined || e.backend === 'objects')) || (isPlatePrompt(e.label) && (e.backend === undefined || e.backend === 'plates'));
    return objects && ownObjects ? 'objects' : 'others';
  }

  /**
   * The strides for a video of `fps` frames a second. Strides are counted at
   * 30 frames a second: a slower video is looked at as often in time, never
   * less often than set (10 at 10 fps: every 3rd frame). Between two looks a
   * walker moves as far in a second whatever the frame rate; on a 10 fps
   * street clip, small heads seen every 10th frame had moved three times
   * their size, too far to be matched to their track, and the covers carried
   * between missed them.
   */
  stridesFor(fps?: number): Strides {
    if (fps === undefined || !Number.isFinite(fps) || fps <= 0 || fps >= FULL_RATE) return this.strides;
    const scaled = (stride: number): number => (stride <= 1 ? stride : Math.min(stride, Math.max(1, Math.round((stride * fps) / FULL_RATE))));
    const s = this.strides;
    return { faces: scaled(s.faces), smallFaces: scaled(s.smallFaces), objects: scaled(s.objects), others: scaled(s.others) };
  }

  /** The groups a video with these prompts needs, with their strides (for its frame rate): a group with nothing to find never makes frames wait. */
  groupsFor(prompts: Prompt[] | string, fps?: number): GroupSetting[] {
    const strides = this.stridesFor(fps);
    const entries = readPrompts(prompts);
    const has = (g: Group): boolean => entries.some((e) => this.groupOf(e) === g);
    // SAM 3 on the bundled detectors' phrases in video runs in 'others', on its stride.
    const others = has('others') || (this.sam3Joins === 'images-and-video' && entries.some((e) => this.groupOf(e, true) !== 'others'));
    return [
      ...(has('faces') ? [{ name: 'faces', stride: strides.faces }] : []),
      ...(has('faces') && strides.smallFaces > 0 ? [{ name: 'smallFaces', stride: strides.smallFaces }] : []),
      ...(has('objects') ? [{ name: 'objects', stride: strides.objects }] : []),
      ...(others ? [{ name: 'others', stride: strides.others }] : []),
    ];
  }

  /**
   * The prompts a group runs on a frame: face phrases in the face groups
   * (sent to the face detector), people, vehicles and plates in 'objects',
   * the rest, and SAM 3 on the bundled phrases when asked for video (seconds
   * per frame: it would stall them), in 'others'.
   */
  promptsOf(group: string, prompts: Prompt[] | string, sam3Loaded: boolean): Prompt[] {
    const entries = readPrompts(prompts);
    if (group === 'others') {
      const rest = entries.filter((e) => this.groupOf(e) === 'others').map((e) => asPrompt(e));
      const joined = this.sam3Joins === 'images-and-video' && sam3Loaded ? entries.filter((e) => this.groupOf(e, true) !== 'others').map((e) => asPrompt(e, 'sam3')) : [];
      return [...rest, ...joined];
    }
    if (group === 'objects') return entries.filter((e) => this.groupOf(e) === 'objects').map((e) => asPrompt(e));
    return entries.filter((e) => this.groupOf(e) === 'faces').map((e) => asPrompt(e, 'face'));
  }

  /**
   * What a group asks of the engine: the face detector's whole-frame pass
   * alone, or its tiles, remembered per video (`video`: a key naming this
   * node's video) so that tiles whose pixels have not changed keep their
   * faces, with the heads of small people; the others as for a photo.
   */
  optionsOf(group: string, video?: string): RedactionSegmentOptions {
    const frame: RedactionSegmentOptions = { media: 'video', sam3Joins: 'never' };
    if (group === 'faces') return { ...frame, face: { tiles: 0 } };
    // The heads of people too small for the face detector come from the person detector's whole-frame pass: its tiles would cost more than the face tiles.
    if (group === 'smallFaces') return { ...frame, face: { tiles: 'auto', minFace: this.smallestFace, ...(video ? { tileMemory: `${video}/smallFaces` } : {}) }, objects: { tiles: 0 } };
    if (group === 'objects') return frame;
    return { media: 'video' };
  }
}

/** Which backends answered each label, over all of a video's groups (the audit trail of carried frames too). */
export function mergeBackends(a: Record<string, LabelBackend[]> | undefined, b: Record<string, LabelBackend[]>): Record<string, LabelBackend[]> {
  const out: Record<string, LabelBackend[]> = { ...a };
  for (const [label, list] of Object.entries(b)) {
    const known = out[label] ?? [];
    out[label] = [...known, ...list.filter((x) => !known.some((k) => k.backend === x.backend))];
  }
  return out;
}
