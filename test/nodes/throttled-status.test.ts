import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeStatus } from 'node-red';
import { ThrottledStatus } from '../../src/nodes/lib/throttled-status';

test('a status given as a function is made only when shown: once now, once at the end of the interval, with the state then', async () => {
  const shown: NodeStatus[] = [];
  const status = new ThrottledStatus((s) => shown.push(s), 50);
  let made = 0;
  let frame = 0;
  const current = (): NodeStatus => {
    made++;
    return { text: `frame ${frame}` };
  };
  // A video's frames: the status asked for twice a frame, far more often than it is shown.
  for (frame = 1; frame <= 100; frame++) {
    status.set(current);
    status.set(current);
  }
  frame = 100;
  await new Promise((resolve) => setTimeout(resolve, 120));
  status.stop();
  assert.deepEqual(shown, [{ text: 'frame 1' }, { text: 'frame 100' }]);
  assert.equal(made, 2, 'the words were made for every call, not only for the statuses shown');
});
