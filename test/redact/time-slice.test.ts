import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs';
import { SLICE_MS, yieldIfLong } from '../../src/common/time-slice';

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin: a stretch of synchronous work, as a burst of covers is
  }
};

/** Runs `fn` inside an I/O callback: the phase from which a single setImmediate runs before the loop reaches its timers. */
const fromIoCallback = (fn: () => Promise<void>): Promise<void> =>
  new Promise((resolve, reject) =>
    readFile(__filename, () => {
      fn().then(resolve, reject);
    }),
  );

test('after a long stretch of work, yieldIfLong lets a due timer run before it resolves, even from an I/O callback', async () => {
  await fromIoCallback(async () => {
    let fired = false;
    setTimeout(() => (fired = true), 0);
    busy(SLICE_MS + 2);
    await yieldIfLong();
    assert.equal(fired, true, 'the timer that fell due during the work had not run when yieldIfLong resolved');
  });
});

test('long stretches one after another: the loop turns between each of them', async () => {
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  try {
    for (let i = 0; i < 5; i++) {
      busy(SLICE_MS + 1);
      await yieldIfLong();
    }
  } finally {
    clearInterval(tick);
  }
  assert.ok(turns >= 5, `a timer ran only ${turns} times across five long stretches`);
});
