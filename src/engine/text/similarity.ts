/**
 * How much of one reading survives in another: normalised edit distance over
 * characters, case and spacing ignored (a recogniser's spacing and case are
 * the least reliable part of its reading, and neither hides anything).
 */

export function normaliseReading(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

/** Levenshtein distance over code points, two rows of memory. */
export function editDistance(a: string, b: string): number {
  const x = [...a], y = [...b];
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  let cur = new Array<number>(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length];
}

/** 1 - distance / longer length: 1 for the same reading, 0 for nothing in common (or nothing read). */
export function readingSimilarity(before: string, after: string): number {
  const a = normaliseReading(before), b = normaliseReading(after);
  const longer = Math.max([...a].length, [...b].length);
  if (longer === 0 || a.length === 0 || b.length === 0) return 0;
  return 1 - editDistance(a, b) / longer;
}
