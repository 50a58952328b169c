/** The audit record written beside an output: what went in, what came out, what was found, by which model. */
import { sha256File } from '../common/file-hash';

export { sha256File };

export interface AuditFacts {
  prompts?: unknown;
  threshold?: unknown;
  modelId?: unknown;
  mode?: unknown;
  perLabel?: unknown;
  /** Which backends answered each label, with the threshold each used. */
  backends?: unknown;
  /** The smallest face (px) the face detector's tiles looked for: faces below it may be left. */
  smallestFace?: unknown;
  /** The fixed privacy zones hidden, by name (with the pixels each hid, for a photo). */
  zones?: unknown;
  /** A person's review: decision, reviewer, time and each change. */
  review?: unknown;
  video?: { frames?: number; detections?: { fresh: number; carried: number }; coveredWhole?: { frames: number; because: string[] }; tracksPerLabel?: Record<string, number> };
}

/** The folders the record's relative paths are in, named once. */
export interface AuditFolders {
  watched: string;
  output: string;
  /** Where originals go after success; absent when they are deleted. */
  done?: string;
}

export interface AuditSubject {
  /** The claimed original, to hash. */
  input: string;
  /** Its path relative to the watched folder, as dropped. */
  relative: string;
  /** Where the original goes, relative to done/ (undefined when originals are deleted). */
  done: string | undefined;
  /** The result to hash (its staging file, before it is published). */
  result: string;
  /** Where the result is published, relative to the output folder. */
  output: string;
  folders: AuditFolders;
  attempt: number;
  facts: AuditFacts;
}

/**
 * The threshold the run used, when every backend used the same one; a run
 * whose backends used different ones has them per label in `backends` only,
 * never one figure that some backend did not use.
 */
function oneThreshold(facts: AuditFacts): unknown {
  if (!facts.backends || typeof facts.backends !== 'object') return facts.threshold;
  const used = new Set<unknown>();
  for (const list of Object.values(facts.backends as Record<string, unknown>)) {
    if (Array.isArray(list)) for (const b of list as Array<{ threshold?: unknown }>) used.add(b.threshold);
  }
  return used.size === 1 ? [...used][0] : undefined;
}

/** Whether the bundled face detector answered any label: only then does its smallest face say what was looked for. */
function usedFaceDetector(backends: unknown): boolean {
  if (!backends || typeof backends !== 'object') return false;
  return Object.values(backends as Record<string, unknown>).some((list) => Array.isArray(list) && list.some((b) => (b as { backend?: unknown }).backend === 'face'));
}

export async function auditRecord(o: AuditSubject): Promise<object> {
  const [inputHash, outputHash] = await Promise.all([sha256File(o.input), sha256File(o.result)]);
  return {
    folders: o.folders,
    input: { path: o.relative, sha256: inputHash, ...(o.done !== undefined ? { done: o.done } : { deleted: true }) },
    output: { path: o.output, sha256: outputHash },
    prompts: o.facts.prompts,
    threshold: oneThreshold(o.facts),
    modelId: o.facts.modelId,
    mode: o.facts.mode,
    instancesPerLabel: o.facts.perLabel,
    backends: o.facts.backends,
    ...(o.facts.smallestFace !== undefined && usedFaceDetector(o.facts.backends) ? { smallestFace: o.facts.smallestFace } : {}),
    ...(o.facts.zones !== undefined ? { zones: o.facts.zones } : {}),
    ...(o.facts.review !== undefined ? { review: o.facts.review } : {}),
    ...(o.facts.video
      ? {
          video: {
            frames: o.facts.video.frames,
            framesWithFreshDetections: o.facts.video.detections?.fresh,
            framesWithCarriedCover: o.facts.video.detections?.carried,
            tracksPerLabel: o.facts.video.tracksPerLabel,
            // Frames hidden whole because a detection failed: how many, and why.
            framesHiddenWhole: o.facts.video.coveredWhole?.frames ?? 0,
            ...(o.facts.video.coveredWhole ? { hiddenWholeBecause: o.facts.video.coveredWhole.because } : {}),
          },
        }
      : {}),
    attempt: o.attempt,
    processedAt: new Date().toISOString(),
  };
}
