/**
 * Decodes what the engine is given (encoded buffer, file path or raw RGB
 * frame) into upright RGB, and cuts the model-sized views of it. sharp does
 * the pixel work on libuv's threads, so Node-RED's event loop stays free.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import type { ImageInput, RawFrame } from '../common/types';
import type { Region } from './mask-upsample';

export const DEFAULT_MAX_PIXELS = 100_000_000;

export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageInputError';
  }
}

export interface DecodedImage {
  width: number;
  height: number;
  /** The upright pixels, 8-bit RGB, row-major: what crops for the text recogniser are cut from. */
  rgb: Uint8Array;
  /** Stretches a region of the upright image to size x size RGB, as SAM 3 wants. */
  view(region: Region, size: number): Promise<Uint8Array>;
  /** Resizes a region of the upright image to width x height RGB (the text detector keeps the aspect). */
  cut(region: Region, width: number, height: number): Promise<Uint8Array>;
}

/** A decoded image around its raw RGB pixels: every view and cut comes from the one decode. */
function fromRgb(data: Buffer, width: number, height: number): DecodedImage {
  const raw = { width, height, channels: 3 as const };
  const cut = (r: Region, w: number, h: number): Promise<Uint8Array> => resizeRaw(sharp(data, { raw }), r, width, height, w, h);
  return {
    width,
    height,
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    view: (r, size) => cut(r, size, size),
    cut,
  };
}

export function isRawFrame(value: unknown): value is RawFrame {
  if (!value || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  const f = value as Partial<RawFrame>;
  return (f.data instanceof Uint8Array) && typeof f.width === 'number' && typeof f.height === 'number';
}

function checkRaw(frame: RawFrame, maxPixels: number): void {
  const { width, height, channels } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageInputError(`raw frame has invalid size ${width}x${height}`);
  }
  if (channels !== 3) throw new ImageInputError(`raw frame must have 3 channels (RGB), got ${String(channels)}`);
  if (width * height > maxPixels) throw new ImageInputError(`image is ${width}x${height}, over the limit of ${maxPixels} pixels`);
  if (frame.data.length !== width * height * 3) {
    throw new ImageInputError(`raw frame data has ${frame.data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
}

async function readSource(input: Buffer | string): Promise<Buffer | string> {
  if (typeof input === 'string') {
    let stat;
    try {
      stat = await fs.stat(input);
    } catch (err) {
      throw new ImageInputError(`cannot read image file ${input}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (!stat.isFile()) throw new ImageInputError(`image path ${input} is not a file`);
    if (stat.size === 0) throw new ImageInputError(`image file ${input} is empty`);
    return input;
  }
  if (input.length === 0) throw new ImageInputError('image buffer is empty');
  return input;
}

/** The sharp pipeline that yields the upright RGB pixels of the input. */
function upright(source: Buffer | string, maxPixels: number): sharp.Sharp {
  return sharp(source, { limitInputPixels: maxPixels, failOn: 'error' })
    .rotate() // EXIF orientation: detect on upright pixels
    .flatten({ background: '#ffffff' }) // transparent areas as a viewer shows them
    .toColourspace('srgb');
}

export async function decodeImage(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<DecodedImage> {
  if (isRawFrame(input)) {
    checkRaw(input, maxPixels);
    return fromRgb(Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength), input.width, input.height);
  }
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    throw new ImageInputError('image must be an encoded Buffer, a file path, or a raw frame { data, width, height, channels: 3 }');
  }
  const source = await readSource(input);
  const name = typeof source === 'string' ? `image file ${source}` : 'image';
  let pixels: { data: Buffer; info: sharp.OutputInfo };
  try {
    const meta = await sharp(source, { limitInputPixels: maxPixels }).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    // Decode once to raw: every view (whole frame and tiles) is cut from it.
    pixels = await upright(source, maxPixels).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    const msg = (err as Error).message;
    if (/pixel limit|exceeds/i.test(msg)) throw new ImageInputError(`${name} is over the limit of ${maxPixels} pixels`);
    throw new ImageInputError(`${name} could not be decoded (${msg.replace(/\s+$/, '')})`);
  }
  return fromRgb(pixels.data, pixels.info.width, pixels.info.height);
}

async function resizeRaw(img: sharp.Sharp, r: Region, width: number, height: number, toWidth: number, toHeight: number): Promise<Uint8Array> {
  const whole = r.x === 0 && r.y === 0 && r.width === width && r.height === height;
  const cut = whole ? img : img.extract({ left: r.x, top: r.y, width: r.width, height: r.height });
  // A stretch, not a letterbox: normalised coordinates are the same in both images.
  const data = await cut.resize(toWidth, toHeight, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
