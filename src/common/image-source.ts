/**
 * The one place where any image input becomes upright pixels, for every
 * layer (detection, redaction, previews), so that what a detector saw and
 * what the redaction changes are the same pixels of the same bytes.
 *
 * - A file is read once, refusing more than a byte limit before reading it
 *   all; the caller hands those bytes on (never the path again), so a file
 *   that changes between two reads, or a decoder that resolves references
 *   only when given a path (SVG), cannot show one thing to detection and
 *   another to the viewer.
 * - Formats are recognised by content, and only the ones the README lists
 *   are accepted; images with several pages or frames (multi-page TIFF,
 *   animated GIF or WebP) are refused rather than cut to their first.
 * - The pixel limit is checked from the header, before any pixel is decoded.
 * - Translucent images give detection two views, over white and over black:
 *   white text on a transparent background is invisible over white.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import type { RawFrame } from './types';

export const DEFAULT_MAX_PIXELS = 100_000_000;
/** 256 MiB: far above any camera's photo, far below what would strain Node-RED. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

export interface ImageLimits {
  /** Width x height above which an image is refused (default 100 million). */
  maxPixels?: number;
  /** Bytes above which an encoded image is refused unread (default 256 MiB). */
  maxBytes?: number;
}

export type ImageErrorCode =
  | 'IMAGE_INVALID_INPUT'
  | 'IMAGE_UNREADABLE'
  | 'IMAGE_EMPTY'
  | 'IMAGE_TOO_MANY_BYTES'
  | 'IMAGE_TOO_MANY_PIXELS'
  | 'IMAGE_UNSUPPORTED_FORMAT'
  | 'IMAGE_MULTI_PAGE'
  | 'IMAGE_UNDECODABLE';

export class ImageInputError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageInputError';
  }
}

/** What sharp calls the formats the README lists (HEIF covers AVIF). */
const ACCEPTED: Record<string, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', tiff: 'TIFF', gif: 'GIF', heif: 'AVIF' };
export const ACCEPTED_FORMATS = Object.values(ACCEPTED);

export function limitsOf(l: ImageLimits = {}): Required<ImageLimits> {
  return { maxPixels: l.maxPixels ?? DEFAULT_MAX_PIXELS, maxBytes: l.maxBytes ?? DEFAULT_MAX_BYTES };
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

export function isRawFrame(value: unknown): value is RawFrame {
  if (!value || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  const f = value as Partial<RawFrame>;
  return f.data instanceof Uint8Array && typeof f.width === 'number' && typeof f.height === 'number';
}

/** Throws unless `frame` is a well-formed RGB frame within the pixel limit. */
export function checkRawFrame(frame: RawFrame, maxPixels = DEFAULT_MAX_PIXELS): void {
  const { width, height, channels } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageInputError('IMAGE_INVALID_INPUT', `raw frame has invalid size ${String(width)}x${String(height)}`);
  }
  if (channels !== 3) throw new ImageInputError('IMAGE_INVALID_INPUT', `raw frame must have 3 channels (RGB), got ${String(channels)}`);
  if (width * height > maxPixels) throw new ImageInputError('IMAGE_TOO_MANY_PIXELS', `image is ${width}x${height}, over the limit of ${maxPixels} pixels`);
  if (frame.data.length !== width * height * 3) {
    throw new ImageInputError('IMAGE_INVALID_INPUT', `raw frame data has ${frame.data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
}

/**
 * The encoded bytes of an input: a Buffer as it is, a file read once. A file
 * over `maxBytes` is refused from its size, before it is read; one that grows
 * while being read is refused once it passes the limit.
 */
export async function readImageBytes(input: Buffer | string, limits: ImageLimits = {}): Promise<Buffer> {
  const { maxBytes } = limitsOf(limits);
  if (Buffer.isBuffer(input)) {
    if (input.length === 0) throw new ImageInputError('IMAGE_EMPTY', 'image buffer is empty');
    if (input.length > maxBytes) throw new ImageInputError('IMAGE_TOO_MANY_BYTES', `image is ${mb(input.length)}, over the limit of ${mb(maxBytes)}`);
    return input;
  }
  if (typeof input !== 'string') throw new ImageInputError('IMAGE_INVALID_INPUT', 'image must be an encoded Buffer, a file path, or a raw frame { data, width, height, channels: 3 }');
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(input, 'r');
  } catch (err) {
    throw new ImageInputError('IMAGE_UNREADABLE', `cannot read image file ${input}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ImageInputError('IMAGE_UNREADABLE', `image path ${input} is not a file`);
    if (stat.size === 0) throw new ImageInputError('IMAGE_EMPTY', `image file ${input} is empty`);
    if (stat.size > maxBytes) throw new ImageInputError('IMAGE_TOO_MANY_BYTES', `image file ${input} is ${mb(stat.size)}, over the limit of ${mb(maxBytes)}`);
    // One byte more than the limit tells a file that grew since stat().
    const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, stat.size + 64 * 1024));
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buf.length) break;
    }
    if (filled > maxBytes) throw new ImageInputError('IMAGE_TOO_MANY_BYTES', `image file ${input} grew over the limit of ${mb(maxBytes)} while it was read`);
    if (filled === 0) throw new ImageInputError('IMAGE_EMPTY', `image file ${input} is empty`);
    return buf.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Reads the header of `bytes` and checks format, pages and size; nothing is decoded yet. */
export async function inspectImage(bytes: Buffer, limits: ImageLimits = {}, name = 'image'): Promise<sharp.Metadata> {
  const { maxPixels } = limitsOf(limits);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageInputError('IMAGE_UNDECODABLE', `${name} could not be decoded (${(err as Error).message.trim()})`);
  }
  const format = meta.format ?? 'unknown';
  if (!(format in ACCEPTED)) {
    throw new ImageInputError('IMAGE_UNSUPPORTED_FORMAT', `${name} is ${format.toUpperCase()}, which is not redacted: accepted are ${ACCEPTED_FORMATS.join(', ')}`);
  }
  if ((meta.pages ?? 1) > 1) {
    throw new ImageInputError(
      'IMAGE_MULTI_PAGE',
      `${name} has ${meta.pages} pages or frames (a multi-page ${ACCEPTED[format]}): only single images are redacted, and writing the first alone would drop the rest unseen`,
    );
  }
  if (!meta.width || !meta.height) throw new ImageInputError('IMAGE_UNDECODABLE', `${name} could not be decoded (no dimensions)`);
  if (meta.width * meta.height > maxPixels) {
    throw new ImageInputError('IMAGE_TOO_MANY_PIXELS', `${name} is ${meta.width}x${meta.height}, over the limit of ${maxPixels} pixels`);
  }
  return meta;
}

/** The size of the image as a viewer shows it: EXIF orientations 5 to 8 swap the sides. */
export function uprightSize(meta: sharp.Metadata): { width: number; height: number } {
  const width = meta.width ?? 0, height = meta.height ?? 0;
  return (meta.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
}

/**
 * Whether the source's ICC profile can travel with our pixels unchanged.
 * Only for RGB: a CMYK or grey profile cannot describe the RGB pixels we
 * write, so those sources are converted to sRGB through their profile instead.
 */
export function keepsIcc(meta: sharp.Metadata): boolean {
  return !!meta.icc && (meta.space === 'srgb' || meta.space === 'rgb16' || meta.space === 'rgb');
}

/**
 * The one upright pipeline: EXIF orientation applied (and its tag removed),
 * pixels left in the source's own RGB colour space when its profile is kept,
 * 16-bit and greyscale brought to 8-bit RGB; alpha kept.
 */
export function openUpright(bytes: Buffer, meta: sharp.Metadata, maxPixels = DEFAULT_MAX_PIXELS): sharp.Sharp {
  const s = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).autoOrient();
  if (keepsIcc(meta)) s.keepIccProfile();
  return s.pipelineColourspace('srgb');
}

export interface UprightPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** Decodes to upright 8-bit RGB or RGBA, with the limits and errors of this module. */
export async function decodeUpright(bytes: Buffer, meta: sharp.Metadata, limits: ImageLimits = {}, name = 'image'): Promise<UprightPixels> {
  try {
    const { data, info } = await openUpright(bytes, meta, limitsOf(limits).maxPixels).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) throw new Error(`decoded image has ${info.channels} channels; expected RGB or RGBA`);
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    const msg = (err as Error).message.trim();
    if (/pixel limit|exceeds/i.test(msg)) throw new ImageInputError('IMAGE_TOO_MANY_PIXELS', `${name} is over the limit of ${limitsOf(limits).maxPixels} pixels`);
    throw new ImageInputError('IMAGE_UNDECODABLE', `${name} could not be decoded (${msg})`);
  }
}

/** Whether any pixel of an RGBA buffer is not fully opaque. */
export function hasTranslucency(px: UprightPixels): boolean {
  if (px.channels !== 4) return false;
  for (let i = 3; i < px.data.length; i += 4) if (px.data[i] !== 255) return true;
  return false;
}

/** RGBA composited over a solid grey level (255 white, 0 black), as a viewer would show it: RGB. */
export function compositeOver(px: UprightPixels, background: number): Buffer {
  const n = px.width * px.height;
  const out = Buffer.allocUnsafe(n * 3);
  for (let i = 0, j = 0; i < n * 4; i += 4, j += 3) {
    const a = px.data[i + 3];
    const b = background * (255 - a);
    out[j] = (px.data[i] * a + b + 127) / 255;
    out[j + 1] = (px.data[i + 1] * a + b + 127) / 255;
    out[j + 2] = (px.data[i + 2] * a + b + 127) / 255;
  }
  return out;
}

/** Drops the alpha of an opaque RGBA buffer. */
export function dropAlpha(px: UprightPixels): Buffer {
  if (px.channels === 3) return px.data;
  return compositeOver(px, 255);
}

/** What an input names, for error messages. */
export function describeInput(input: unknown): string {
  return typeof input === 'string' ? `image file ${input}` : 'image';
}

/**
 * An error about bytes that were read from `file`, saying so: messages about
 * an input start with what it is ("image ..."), and bytes have no name.
 */
export function naming(err: unknown, file: string | undefined): unknown {
  if (!(err instanceof ImageInputError) || !file || !err.message.startsWith('image ')) return err;
  return new ImageInputError(err.code, `image file ${file}${err.message.slice('image'.length)}`);
}
