/** The upright size of an encoded image, from its header (EXIF orientations 5 to 8 swap the sides), without decoding pixels. */
import sharp from 'sharp';
import { CodedError } from '../common/coded-error';

export async function uprightSize(image: Buffer): Promise<{ width: number; height: number }> {
  const meta = await sharp(image, { limitInputPixels: false }).metadata().catch((err: Error) => {
    throw new CodedError('IMAGE_UNREADABLE', `the image could not be read: ${err.message}`);
  });
  if (!meta.width || !meta.height) throw new CodedError('IMAGE_UNREADABLE', 'the image has no size');
  const swap = (meta.orientation ?? 1) >= 5;
  return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}
