/**
 * Decodes any accepted input once into an upright 8-bit RGB(A) frame (see
 * common/image-source.ts), and keeps what the encoder needs to write the same
 * format back.
 */
import type sharp from 'sharp';
import { checkRawFrame, decodeUpright, describeInput, ImageInputError, inspectImage, isRawFrame, readImageBytes, type ImageLimits } from '../common/image-source';
import type { ImageInput } from '../common/types';
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

export async function decodeImage(input: ImageInput, limits: ImageLimits = {}): Promise<Decoded> {
  if (isRawFrame(input)) {
    checkRawFrame(input, limits.maxPixels);
    // A view, not a copy: see Decoded.borrowed.
    const data = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
    return { frame: { data, width: input.width, height: input.height, channels: 3 }, source: null, borrowed: true };
  }
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    throw new ImageInputError('IMAGE_INVALID_INPUT', 'image must be an encoded image Buffer, a file path or a raw frame { data, width, height, channels: 3 }');
  }
  const name = describeInput(input);
  const buffer = await readImageBytes(input, limits);
  const meta = await inspectImage(buffer, limits, name);
  const px = await decodeUpright(buffer, meta, limits, name);
  return { frame: px, source: { buffer, meta }, borrowed: false };
}
