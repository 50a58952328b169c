/**
 * redactImage: decode once, redact instance by instance inside each
 * instance's own rectangle, encode once. Anything wrong with the detections
 * throws before an image is produced: a caller never gets the picture back
 * unredacted because a mask was unusable.
 */
import { rleToBoxMask } from '../common/rle';
import { isTextPrompt } from '../common/concepts';
import { yieldIfLong } from '../common/time-slice';
import type { ImageInput, Instance } from '../common/types';
import { colourToRedact, withAlpha } from './alpha';
import { blendInto } from './composite';
import { decodeImage } from './decode';
import { effectReach, renderEffect, type EffectSettings, type Rendered } from './effects';
import type { Rect } from './frame';
import { encodeImage } from './encode';
import { boxToMask, buildCover, growthFor, markCovered, wholeCover, type Cover } from './masks';
import { resolveOptions, type ResolvedOptions } from './options';
import type { RedactOptions, RedactResult, RedactSummary } from './types';
import { validateInstances } from './validate';
import { ZONE_LABEL, zoneMask, type PrivacyZone } from './zones';

/** The backend of instances a person added in review. */
export const REVIEW_BACKEND = 'review';

function coverFor(inst: Instance, o: ResolvedOptions, width: number, height: number): Cover | null {
  // An empty mask with a real box still means "something is here": cover the box.
  const mask = (o.cover === 'mask' ? rleToBoxMask(inst.mask) : null) ?? boxToMask(inst.box, width, height);
  if (!mask) return null;
  const grow = growthFor(inst.box, o.growPercent, o.minGrowPixels, o.growPixels);
  return buildCover(mask, grow, o.featherPixels, width, height);
}

/** Zone covers by zone, frame size, growth and feather: a video hides the same zones in every frame, and covers are never written. */
const zoneCovers = new Map<string, Cover | null>();
const ZONE_COVERS_KEPT = 32;

/** A zone is drawn by hand to where it should end: it grows by the minimum and the extra pixels only, not by a share of its size. */
function zoneCover(zone: PrivacyZone, o: ResolvedOptions, width: number, height: number): Cover | null {
  const grow = o.minGrowPixels + o.growPixels;
  const key = `${width}x${height}:${grow}:${o.featherPixels}:${JSON.stringify(zone.points)}`;
  if (zoneCovers.has(key)) return zoneCovers.get(key) ?? null;
  const mask = zoneMask(zone, width, height);
  const cover = mask ? buildCover(mask, grow, o.featherPixels, width, height) : null;
  if (zoneCovers.size >= ZONE_COVERS_KEPT) zoneCovers.delete(zoneCovers.keys().next().value as string);
  zoneCovers.set(key, cover);
  return cover;
}

interface Target {
  label: string;
  /** A fixed privacy zone: its place in o.zones (zones count in summary.zones too). */
  zone?: number;
  cover: () => Cover | null;
}

interface Job {
  target: Target;
  cover: Cover;
  settings: EffectSettings;
}

const overlaps = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

export async function redactImage(image: ImageInput, instances: Instance[], opts?: RedactOptions): Promise<RedactResult> {
  const t0 = performance.now();
  const o = resolveOptions(opts);
  const decoded = await decodeImage(image, { maxPixels: o.maxPixels, maxBytes: o.maxBytes });
  const { source, borrowed } = decoded;
  // A translucent image is redacted as the colour it shows; its alpha is put back at the end.
  const { work: frame, rgba } = colourToRedact(decoded.frame);
  const { width, height } = frame;
  // The caller's raw frame stays as it was (unless it said otherwise): the first change works on a copy.
  let owned = !borrowed || o.inPlace || rgba !== null;
  const writable = (): void => {
    if (!owned) frame.data = Buffer.from(frame.data);
    owned = true;
  };
  /** What was covered: where a translucent image's alpha becomes opaque. */
  let applied: Cover[] | 'all' = [];
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
    applied = 'all';
  } else {
    const chosen: Target[] = validateInstances(instances, width, height)
      // What a reviewer drew (backend 'review') is hidden whatever the label and score filters say.
      .filter((i) => i.backend === REVIEW_BACKEND || (i.score >= o.minScore && (!o.labels || o.labels.has(i.label))))
      .map((inst) => ({ label: inst.label, cover: () => coverFor(inst, o, width, height) }));
    // Zones pass every filter: they are hidden whatever was found.
    o.zones.forEach((zone, i) => chosen.push({ label: ZONE_LABEL, zone: i, cover: () => zoneCover(zone, o, width, height) }));
    if (o.zones.length > 0) summary.zones = o.zones.map((z) => ({ ...(z.name ? { name: z.name } : {}), pixels: 0 }));
    // Pixels hidden twice are counted once: a frame-sized map (12 MB at 12 MP), made only once two covers overlap.
    let covered: Uint8Array | null = null;
    const covers: Cover[] = [];
    const count = (job: Job): void => {
      if (!covered && covers.some((c) => overlaps(c, job.cover))) {
        covered = new Uint8Array(width * height);
        // The earlier covers do not overlap one another: each was counted whole.
        for (const c of covers) markCovered(covered, width, c);
      }
      covers.push(job.cover);
      summary.pixelsRedacted += covered ? markCovered(covered, width, job.cover) : job.cover.full;
      summary.instances++;
      const l = (summary.perLabel[job.target.label] ??= { instances: 0, pixels: 0 });
      l.instances++;
      l.pixels += job.cover.full;
      if (job.target.zone !== undefined && summary.zones) summary.zones[job.target.zone].pixels += job.cover.full;
    };
    // Instances in a batch read no pixel another one of it writes: each
    // effect starts rendering (sharp's threads) as soon as its cover is
    // built, while the next cover is built here, and the batch blends in
    // order once all have rendered. An instance that overlaps the batch
    // waits for it, so it reads the frame as already redacted and no step
    // can bring back unredacted pixels.
    let batch: Array<{ job: Job; reach: Rect; rendered: Promise<Rendered> }> = [];
    const flush = async (): Promise<void> => {
      const rendered = await Promise.all(batch.map((b) => b.rendered));
      writable();
      for (const [i, b] of batch.entries()) {
        await yieldIfLong();
        blendInto(frame, b.job.cover, rendered[i]);
        count(b.job);
      }
      batch = [];
    };
    try {
      for (const target of chosen) {
        // A burst of video frames, each with a dozen covers, must not hold Node-RED's event loop.
        await yieldIfLong();
        const cover = target.cover();
        if (!cover) continue;
        const job: Job = { target, cover, settings: { ...effect, text: target.zone === undefined && isTextPrompt(target.label) } };
        const reach = effectReach(frame, cover, job.settings);
        if (batch.some((b) => overlaps(b.reach, reach))) await flush();
        batch.push({ job, reach, rendered: renderEffect(frame, cover, job.settings) });
      }
      await flush();
      applied = covers;
    } catch (err) {
      // Renders still running must not outlive the call unobserved.
      await Promise.allSettled(batch.map((b) => b.rendered));
      throw err;
    }
  }

  const result = rgba ? withAlpha(rgba, frame, applied) : frame;
  const out = await encodeImage(result, source, { quality: o.quality, keepMetadata: o.keepMetadata });
  summary.ms = Math.round(performance.now() - t0);
  return { image: out.image, format: out.format, width, height, summary };
}
