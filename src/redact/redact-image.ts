/**
 * redactImage: decode once, redact instance by instance inside each
 * instance's own rectangle, encode once. Anything wrong with the detections
 * throws before an image is produced: a caller never gets the picture back
 * unredacted because a mask was unusable.
 */
import { rleToBoxMask } from '../common/rle';
import { isTextPrompt } from '../common/text-concepts';
import type { ImageInput, Instance } from '../common/types';
import { blendInto } from './composite';
import { decodeImage } from './decode';
import { effectReach, renderEffect, type EffectSettings } from './effects';
import type { Rect } from './frame';
import { encodeImage } from './encode';
import { boxToMask, buildCover, growthFor, markCovered, wholeCover, type Cover } from './masks';
import { resolveOptions, type ResolvedOptions } from './options';
import type { RedactOptions, RedactResult, RedactSummary } from './types';
import { validateInstances } from './validate';

function coverFor(inst: Instance, o: ResolvedOptions, width: number, height: number): Cover | null {
  // An empty mask with a real box still means "something is here": cover the box.
  const mask = (o.cover === 'mask' ? rleToBoxMask(inst.mask) : null) ?? boxToMask(inst.box, width, height);
  if (!mask) return null;
  const grow = growthFor(inst.box, o.growPercent, o.minGrowPixels, o.growPixels);
  return buildCover(mask, grow, o.featherPixels, width, height);
}

interface Job {
  inst: Instance;
  cover: Cover;
  settings: EffectSettings;
}

const overlaps = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Consecutive runs of jobs in which no job's read area overlaps another's cover or read area. */
function batches(jobs: Job[], frame: { width: number; height: number }): Job[][] {
  const out: Job[][] = [];
  let current: Array<Job & { reach: Rect }> = [];
  for (const job of jobs) {
    const reach = effectReach(frame, job.cover, job.settings);
    if (current.some((c) => overlaps(c.reach, reach))) {
      out.push(current);
      current = [];
    }
    current.push({ ...job, reach });
  }
  if (current.length) out.push(current);
  return out;
}

export async function redactImage(image: ImageInput, instances: Instance[], opts?: RedactOptions): Promise<RedactResult> {
  const t0 = performance.now();
  const o = resolveOptions(opts);
  const { frame, source, borrowed } = await decodeImage(image);
  const { width, height } = frame;
  // The caller's raw frame stays as it was: the first change works on a copy.
  let owned = !borrowed;
  const writable = (): void => {
    if (!owned) frame.data = Buffer.from(frame.data);
    owned = true;
  };
  const summary: RedactSummary = { mode: o.mode, instances: 0, perLabel: {}, pixelsRedacted: 0, ms: 0 };
  const effect = { mode: o.mode, fill: o.fill, blurSigma: o.blurSigma, pixelSize: o.pixelSize };

  if (o.wholeImage) {
    // The fallback when detections are unusable, so they are not even read.
    const cover = wholeCover(width, height);
    const rendered = await renderEffect(frame, cover, effect);
    writable();
    blendInto(frame, cover, rendered);
    summary.pixelsRedacted = cover.full;
    summary.wholeImage = true;
  } else {
    const chosen = validateInstances(instances, width, height).filter(
      (i) => i.score >= o.minScore && (!o.labels || o.labels.has(i.label)),
    );
    const jobs: Job[] = [];
    for (const inst of chosen) {
      const cover = coverFor(inst, o, width, height);
      if (cover) jobs.push({ inst, cover, settings: { ...effect, text: isTextPrompt(inst.label) } });
    }
    // Pixels hidden twice are counted once: a frame-sized map, needed only where covers overlap (12 MB at 12 MP).
    const covered = jobs.some((a, i) => jobs.some((b, k) => k > i && overlaps(a.cover, b.cover))) ? new Uint8Array(width * height) : null;
    for (const batch of batches(jobs, frame)) {
      // Instances in a batch read no pixel another one of it writes: their
      // effects render at once (sharp's threads), then blend in order. An
      // instance that overlaps an earlier one waits for the next batch, so
      // it reads the frame as already redacted and no step can bring back
      // unredacted pixels.
      const rendered = await Promise.all(batch.map((j) => renderEffect(frame, j.cover, j.settings)));
      writable();
      batch.forEach((j, i) => {
        blendInto(frame, j.cover, rendered[i]);
        summary.pixelsRedacted += covered ? markCovered(covered, width, j.cover) : j.cover.full;
        summary.instances++;
        const l = (summary.perLabel[j.inst.label] ??= { instances: 0, pixels: 0 });
        l.instances++;
        l.pixels += j.cover.full;
      });
    }
  }

  const out = await encodeImage(frame, source, { quality: o.quality, keepMetadata: o.keepMetadata });
  summary.ms = Math.round(performance.now() - t0);
  return { image: out.image, format: out.format, width, height, summary };
}
