/**
 * 8-bit interleaved RGB -> normalised planar float (NCHW), shared by every
 * graph the host runs: SAM 3's vision encoder and both text models differ only
 * in mean, std, channel order and padding.
 */

export interface Normalisation {
  /** Per channel, in 0..1 units, in the order the graph expects its channels. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** PaddleOCR models were trained on OpenCV's BGR images; SAM 3 on RGB. */
  order: 'rgb' | 'bgr';
}

/** x / 127.5 - 1: SAM 3's preprocessing, and PaddleOCR's recogniser's ((x/255 - 0.5) / 0.5). */
export const HALF_RANGE: Normalisation = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: 'rgb' };

/**
 * Writes one image into `out` (or a new array) as 3 planes of `tensorWidth` x
 * `height`. Columns past `width` stay 0: the recogniser pads short lines so.
 */
export function toChw(
  rgb: Uint8Array,
  width: number,
  height: number,
  norm: Normalisation,
  tensorWidth = width,
  out: Float32Array = new Float32Array(3 * tensorWidth * height),
  offset = 0,
): Float32Array {
  const plane = tensorWidth * height;
  const src = norm.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    // One multiply-add per value: 255 * std and mean / std folded once per channel.
    const scale = 1 / (255 * norm.std[c]);
    const bias = -norm.mean[c] / norm.std[c];
    const base = offset + c * plane;
    const from = src[c];
    for (let y = 0; y < height; y++) {
      const row = base + y * tensorWidth;
      for (let x = 0, i = y * width * 3 + from; x < width; x++, i += 3) out[row + x] = rgb[i] * scale + bias;
    }
  }
  return out;
}
