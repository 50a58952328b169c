/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance
 * Transforms of Sampled Functions", 2012): two 1-D passes of lower envelopes
 * of parabolas, O(pixels). Used for growth and feathering so that both are
 * round (a disc around the mask), not the square or diamond of a box filter.
 */

/** Stands in for "no mask pixel in reach"; finite so the parabola maths stays NaN-free. */
export const FAR = 1e20;

function transform1d(f: Float32Array, start: number, stride: number, n: number, scratch: Scratch): void {
  const { v, z, g } = scratch;
  for (let q = 0; q < n; q++) g[q] = f[start + q * stride];
  let k = 0;
  v[0] = 0;
  z[0] = -FAR;
  z[1] = FAR;
  for (let q = 1; q < n; q++) {
    const fq = g[q] + q * q;
    let p = v[k];
    let s = (fq - (g[p] + p * p)) / (2 * (q - p));
    // z[0] is -FAR and every s is far above it, so this stops at k = 0.
    while (s <= z[k]) {
      k--;
      p = v[k];
      s = (fq - (g[p] + p * p)) / (2 * (q - p));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = FAR;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const d = q - v[k];
    f[start + q * stride] = d * d + g[v[k]];
  }
}

interface Scratch {
  v: Int32Array;
  z: Float64Array;
  g: Float64Array;
}

/**
 * In place: `grid` (width x height, row-major) holds 0 on mask pixels and FAR
 * elsewhere; on return it holds the squared distance to the nearest mask pixel.
 */
export function squaredDistance(grid: Float32Array, width: number, height: number): void {
  const n = Math.max(width, height);
  const scratch: Scratch = { v: new Int32Array(n), z: new Float64Array(n + 1), g: new Float64Array(n) };
  for (let x = 0; x < width; x++) transform1d(grid, x, width, height, scratch);
  for (let y = 0; y < height; y++) transform1d(grid, y * width, 1, width, scratch);
}
