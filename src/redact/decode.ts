/**
 * Decodes any accepted input once into an upright 8-bit RGB(A) frame, and
 * keeps what the encoder needs to write the same format back.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ImageInput, RawFrame } from '../common/types';
import type { Frame } from './frame';

export interface Source {
  /** The encoded bytes, read once, so that decoding and encoding see the same file. */
  buffer: Buffer;
  meta: sharp.Metadata;
}

export interface Decoded {
  frame: Frame;
  /** Null for a raw frame input. */
  source: Source | null;
  /**
   * frame.data is the caller's own memory (a raw frame input): copy it before
   * changing a pixel. Not copied up front because most video frames have
   * nothing to redact, and a 6 MB copy per 1080p frame is garbage the
   * collector then has to chase (measured: a third of Node-RED's CPU time
   * in the video bench went to GC).
   */
  borrowed: boolean;
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
 * The one upright pipeline both the decoder and the encoder open, so that
 * their pixels agree: EXIF orientation applied (and its tag removed), pixels
 * left in the source's own RGB colour space when its profile is kept, 16-bit
 * and greyscale brought to 8-bit RGB.
 */
export function openUpright(buffer: Buffer, meta: sharp.Metadata): sharp.Sharp {
  const s = sharp(buffer).autoOrient();
  if (keepsIcc(meta)) s.keepIccProfile();
  return s.pipelineColourspace('srgb');
}

function isRawFrame(v: unknown): v is RawFrame {
  return !!v && typeof v === 'object' && 'data' in v && 'width' in v && 'height' in v;
}

function checkRawFrame(f: RawFrame): Frame {
  const { data, width, height, channels } = f;
  if (!(data instanceof Uint8Array)) throw new Error('raw frame data must be a Buffer or Uint8Array');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`raw frame size must be two positive integers, got ${String(width)}x${String(height)}`);
  }
  if (channels !== 3) throw new Error(`raw frame must have 3 channels (RGB), got ${String(channels)}`);
  if (data.length !== width * height * 3) {
    throw new Error(`raw frame data has ${data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
  // A view, not a copy: see Decoded.borrowed.
  return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 3 };
}

export async function decodeImage(input: ImageInput): Promise<Decoded> {
  let buffer: Buffer;
  if (Buffer.isBuffer(input)) buffer = input;
  else if (typeof input === 'string') buffer = await readFile(input);
  else if (isRawFrame(input)) return { frame: checkRawFrame(input), source: null, borrowed: true };
  else throw new Error('image must be an encoded image Buffer, a file path or a raw frame { data, width, height, channels: 3 }');

  const meta = await sharp(buffer).metadata();
  const { data, info } = await openUpright(buffer, meta).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4) {
    throw new Error(`decoded image has ${info.channels} channels; expected RGB or RGBA`);
  }
  return { frame: { data, width: info.width, height: info.height, channels: info.channels }, source: { buffer, meta }, borrowed: false };
}
