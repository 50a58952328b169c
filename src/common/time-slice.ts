/**
 * Keeps long stretches of pixel work from holding Node-RED's event loop.
 * A video's frames reach mask-blur in bursts (about ten when a detection
 * look completes), and building their covers back to back kept timers, HTTP
 * and other flows waiting for over 100 ms while faces were found on every
 * frame of a 1080p clip (docs/performance.md).
 * Work that calls yieldIfLong() between its steps lets the loop run once the
 * current stretch has taken SLICE_MS.
 */

/** Longest stretch of synchronous work between two chances for the event loop. */
export const SLICE_MS = 8;

let sliceStart = performance.now();

/**
 * Resolves at once while the current stretch is short; otherwise on the
 * event loop's next turn. The stretch is counted from the last yield, so
 * after an idle spell the first call yields too (one turn, no real wait).
 */
export async function yieldIfLong(): Promise<void> {
  if (performance.now() - sliceStart < SLICE_MS) return;
  await nextTurn();
  sliceStart = performance.now();
}

/**
 * A whole turn of the event loop, timers and I/O included, whatever phase
 * this runs in: an immediate set from an I/O callback runs before the loop
 * reaches its timers; one set from there runs after them.
 */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
