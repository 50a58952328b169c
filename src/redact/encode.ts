/**
 * Writes the redacted frame back in the input's form, once.
 *
 * sharp can only attach a source's ICC profile, EXIF, XMP or IPTC to an
 * image that was decoded from that source; a raw buffer has none, and
 * withIccProfile() would convert our pixels instead of tagging them. So when
 * anything has to travel (an ICC profile, or metadata the user asked to
 * keep), the source is opened again through the same upright pipeline as the
 * decoder, its pixels multiplied by zero and OR-ed with the redacted frame:
 * the output carries the source's metadata and exactly our pixels. Otherwise
 * the frame is encoded directly, which skips that second decode.
 */
import sharp from 'sharp';
import type { RawFrame } from '../common/types';
import { keepsIcc, openUpright } from '../common/image-source';
import type { Source } from './decode';
import { applyOutput, chooseOutput } from './formats';
import type { Frame } from './frame';
import { exifThumbnail, keepWithoutPreviews, stripXmpThumbnails } from './thumbnails';
import { CodedError } from '../common/coded-error';

export interface Encoded {
  image: Buffer | RawFrame;
  format: string;
}

function rawOf(f: Frame): { width: number; height: number; channels: 3 | 4 } {
  return { width: f.width, height: f.height, channels: f.channels };
}

function carrierWithMetadata(frame: Frame, source: Source, keepMetadata: boolean): sharp.Sharp {
  const { meta } = source;
  if (!keepMetadata) {
    return openUpright(source.buffer, meta).linear(0, 0).boolean(frame.data, 'or', { raw: rawOf(frame) });
  }
  const kept = keepWithoutPreviews(source.buffer, meta);
  const s = openUpright(kept.buffer, meta);
  // keepMetadata() is the only way to keep IPTC, but it also keeps the ICC
  // profile, which must not happen for a CMYK or grey profile on RGB pixels.
  const iccOk = !meta.icc || keepsIcc(meta);
  if (kept.exif && kept.iptc && iccOk) {
    s.keepMetadata();
  } else {
    if (kept.exif) s.keepExif();
    s.keepXmp();
  }
  if (kept.xmp !== null) s.withXmp(kept.xmp);
  return s.linear(0, 0).boolean(frame.data, 'or', { raw: rawOf(frame) });
}

/** Defence in depth: never hand out a file whose metadata still holds a preview. */
async function assertNoPreviews(out: Buffer): Promise<void> {
  const m = await sharp(out).metadata();
  if (m.exif) {
    const tiff = m.exif.subarray(m.exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0);
    const t = exifThumbnail(tiff);
    // An IFD1 without image bytes (spans beyond the directory) is harmless.
    if (t !== null && (t === 'unknown' || t.spans.length > 1)) {
      throw new CodedError('PREVIEW_LEFT', 'redacted image would still carry an EXIF thumbnail; refusing to output it');
    }
  }
  if (m.xmp) {
    const text = m.xmp.toString('utf8');
    if (stripXmpThumbnails(text) !== text) throw new CodedError('PREVIEW_LEFT', 'redacted image would still carry an XMP thumbnail; refusing to output it');
  }
}

export async function encodeImage(
  frame: Frame,
  source: Source | null,
  o: { quality: number; keepMetadata: boolean },
): Promise<Encoded> {
  if (!source) {
    return { image: { data: frame.data, width: frame.width, height: frame.height, channels: 3 }, format: 'raw' };
  }
  const format = chooseOutput(source.meta, source.buffer);
  const needsSource = o.keepMetadata || keepsIcc(source.meta);
  const s = needsSource ? carrierWithMetadata(frame, source, o.keepMetadata) : sharp(frame.data, { raw: rawOf(frame) });
  const out = await applyOutput(s, format, o.quality).toBuffer();
  if (o.keepMetadata) await assertNoPreviews(out);
  return { image: out, format: format.id };
}
