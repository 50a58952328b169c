/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance
 * Transforms of Sampled Functions", 2012), O(pixels). Used for growth and
 * feathering so that both are round (a disc around the mask), not the square
 * or diamond of a box filter.
 *
 * The input is binary (mask or not), so the first pass, along columns, is
 * two linear scans counting rows to the nearest mask pixel, row by row in
 * memory order; only the second pass, along rows, needs the lower envelope
 * of parabolas. Distances at or beyond `limit2` are not needed (the cover
 * ends there), so points that far are left out of the envelopes.
 */

/** Stands in for "no mask pixel in reach"; finite so the parabola maths stays NaN-free. */
export const FAR = 1e20;

/**
 * The grid a caller fills for squaredDistance, and the column pass's counts,
 * kept between calls: a video frame builds several covers, and fresh arrays
 * for each made work for the garbage collector that stalled Node-RED. A
 * caller is done with the grid before the next one asks (no await between).
 */
let gridScratch = new Float32Array(0);
let rowsScratch = new Int32Array(0);

export function distanceGrid(length: number): Float32Array {
  if (gridScratch.length < length) gridScratch = new Float32Array(Math.max(length, gridScratch.length * 2));
  return gridScratch.subarray(0, length).fill(FAR);
}

function scratchRows(length: number): Int32Array {
  if (rowsScratch.length < length) rowsScratch = new Int32Array(Math.max(length, rowsScratch.length * 2));
  return rowsScratch.subarray(0, length);
}

interface Scratch {
  v: Int32Array;
  z: Float64Array;
  g: Float64Array;
}

/** Squared distances along one row, from the column distances in f; exact below limit2. */
function rowPass(f: Float32Array, start: number, n: number, limit2: number, scratch: Scratch): void {
  const { v, z, g } = scratch;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const gq = f[start + q];
    g[q] = gq;
    // A point this far from the mask cannot be the nearest one below limit2.
    if (gq >= limit2) continue;
    // Inside a run of mask pixels only the run's ends can be nearest to a
    // point outside it (the inside is 0, set below): most of a mask's
    // pixels drop out of the envelope.
    if (gq === 0 && q > 0 && q < n - 1 && f[start + q - 1] === 0 && f[start + q + 1] === 0) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -FAR;
      z[1] = FAR;
      continue;
    }
    const fq = gq + q * q;
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
  if (k < 0) {
    f.fill(FAR, start, start + n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    if (g[q] === 0) {
      f[start + q] = 0;
      continue;
    }
    const d = q - v[k];
    f[start + q] = d * d + g[v[k]];
  }
}

/**
 * In place: `grid` (width x height, row-major) holds 0 on mask pixels and FAR
 * elsewhere; on return it holds the squared distance to the nearest mask
 * pixel, exact wherever that is below `limit2`, and at least `limit2`
 * (possibly FAR) elsewhere.
 */
export function squaredDistance(grid: Float32Array, width: number, height: number, limit2 = Infinity): void {
  // Column pass: rows to the nearest mask pixel above, then below.
  const none = height + width + 1;
  const rows = scratchRows(width * height);
  for (let x = 0; x < width; x++) rows[x] = grid[x] === 0 ? 0 : none;
  for (let y = 1, i = width; y < height; y++) {
    for (let x = 0; x < width; x++, i++) rows[i] = grid[i] === 0 ? 0 : rows[i - width] + 1;
  }
  for (let y = height - 2, i = (height - 1) * width - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--, i--) {
      const below = rows[i + width] + 1;
      if (below < rows[i]) rows[i] = below;
    }
  }
  for (let i = 0, n = width * height; i < n; i++) grid[i] = rows[i] >= none ? FAR : rows[i] * rows[i];
  const scratch: Scratch = { v: new Int32Array(width), z: new Float64Array(width + 1), g: new Float64Array(width) };
  for (let y = 0; y < height; y++) rowPass(grid, y * width, width, limit2, scratch);
}
