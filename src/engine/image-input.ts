/**
 * Decodes what the engine is given (encoded buffer, file path or raw RGB
 * frame) into upright RGB, and cuts the model-sized views of it. sharp does
 * the pixel work on libuv's threads, so Node-RED's event loop stays free.
 */
import sharp from 'sharp';
import {
  checkRawFrame,
  compositeOver,
  decodeUpright,
  describeInput,
  dropAlpha,
  hasTranslucency,
  ImageInputError,
  inspectImage,
  isRawFrame,
  readImageBytes,
  type ImageLimits,
} from '../common/image-source';
import type { ImageInput } from '../common/types';
import type { Region } from './region';

export { DEFAULT_MAX_PIXELS, ImageInputError, isRawFrame } from '../common/image-source';

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

/**
 * What detection looks at: one view of an opaque image, two of a translucent
 * one (over white and over black: text in either colour on a transparent
 * background is readable on one of them).
 */
export async function decodeViews(input: ImageInput, limits: ImageLimits = {}): Promise<DecodedImage[]> {
  if (isRawFrame(input)) {
    checkRawFrame(input, limits.maxPixels);
    return [fromRgb(Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength), input.width, input.height)];
  }
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    throw new ImageInputError('IMAGE_INVALID_INPUT', 'image must be an encoded Buffer, a file path, or a raw frame { data, width, height, channels: 3 }');
  }
  const name = describeInput(input);
  const bytes = await readImageBytes(input, limits);
  const meta = await inspectImage(bytes, limits, name);
  const px = await decodeUpright(bytes, meta, limits, name);
  if (!hasTranslucency(px)) return [fromRgb(dropAlpha(px), px.width, px.height)];
  return [fromRgb(compositeOver(px, 255), px.width, px.height), fromRgb(compositeOver(px, 0), px.width, px.height)];
}

/** The image as a viewer on white shows it: the one view text verification reads. */
export async function decodeImage(input: ImageInput, limits: ImageLimits | number = {}): Promise<DecodedImage> {
  const [first] = await decodeViews(input, typeof limits === 'number' ? { maxPixels: limits } : limits);
  return first;
}

async function resizeRaw(img: sharp.Sharp, r: Region, width: number, height: number, toWidth: number, toHeight: number): Promise<Uint8Array> {
  const whole = r.x === 0 && r.y === 0 && r.width === width && r.height === height;
  const cut = whole ? img : img.extract({ left: r.x, top: r.y, width: r.width, height: r.height });
  // A stretch, not a letterbox: normalised coordinates are the same in both images.
  const data = await cut.resize(toWidth, toHeight, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A rectangle of an RGB image, copied row by row: a tile that needs no resampling. */
export function cropRgb(rgb: Uint8Array, width: number, r: Region): Uint8Array {
  const out = new Uint8Array(r.width * r.height * 3);
  const row = r.width * 3;
  for (let y = 0; y < r.height; y++) {
    const from = ((r.y + y) * width + r.x) * 3;
    out.set(rgb.subarray(from, from + row), y * row);
  }
  return out;
}
