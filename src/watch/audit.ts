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
  video?: { frames?: number; detections?: { fresh: number; carried: number }; coveredWhole?: { frames: number; because: string[] } };
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
  /** Where the result is published. */
  output: string;
  attempt: number;
  facts: AuditFacts;
}

export async function auditRecord(o: AuditSubject): Promise<object> {
  const [inputHash, outputHash] = await Promise.all([sha256File(o.input), sha256File(o.result)]);
  return {
    input: { path: o.relative, sha256: inputHash, ...(o.done !== undefined ? { done: o.done } : { deleted: true }) },
    output: { path: o.output, sha256: outputHash },
    prompts: o.facts.prompts,
    threshold: o.facts.threshold,
    modelId: o.facts.modelId,
    mode: o.facts.mode,
    instancesPerLabel: o.facts.perLabel,
    backends: o.facts.backends,
    ...(o.facts.video
      ? {
          video: {
            frames: o.facts.video.frames,
            framesWithFreshDetections: o.facts.video.detections?.fresh,
            framesWithCarriedCover: o.facts.video.detections?.carried,
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
