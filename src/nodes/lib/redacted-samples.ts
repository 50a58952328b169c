/**
 * The last *redacted* output of each mask-blur node, as a small JPEG for its
 * edit dialog to draw privacy zones on. Only what the node sent on is kept,
 * never an unredacted input; at most one per node, refreshed at most every
 * few seconds (a video sends 30 frames a second), dropped when the node
 * closes.
 */
import sharp from 'sharp';
import type { RawFrame } from '../../common/types';

const REFRESH_MS = 3000;
/** Longer side of the kept picture: enough to place corners, small enough to keep for every node. */
const SIDE = 960;

interface Sample {
  at: number;
  jpeg?: Promise<Buffer | undefined>;
}

const samples = new Map<string, Sample>();

const isRaw = (image: Buffer | RawFrame): image is RawFrame => !Buffer.isBuffer(image);

/** Keeps a copy of `image` (what the node sends on) as node `id`'s sample, unless one was kept moments ago. */
export function keepSample(id: string, image: Buffer | RawFrame): void {
  const now = Date.now();
  const last = samples.get(id);
  if (last && now - last.at < REFRESH_MS) return;
  // A video frame's buffer carries a later, unredacted frame once written: copy it now, before anything else runs.
  const input = isRaw(image)
    ? sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: image.channels } })
    : sharp(image, { limitInputPixels: false });
  const jpeg = input
    .resize(SIDE, SIDE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer()
    .catch(() => undefined);
  samples.set(id, { at: now, jpeg });
}

export async function sampleOf(id: string): Promise<Buffer | undefined> {
  return samples.get(id)?.jpeg;
}

export function forgetSample(id: string): void {
  samples.delete(id);
}
