import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ffmpegFeatures, runFfprobe, stopProcess, TextTail } from '../../src/video/ffmpeg';

test('stopProcess escalates to SIGKILL when SIGTERM is ignored', async () => {
  // Stands in for an ffmpeg stuck on a full pipe: it does not react to SIGTERM.
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const t0 = Date.now();
  await stopProcess(child, 300);
  assert.equal(child.signalCode, 'SIGKILL');
  assert.ok(Date.now() - t0 >= 250, 'SIGTERM was given its grace period first');
  await stopProcess(child, 300); // already gone: resolves at once
});

test('the bundled ffmpeg has what the writer needs', async () => {
  const features = await ffmpegFeatures();
  assert.equal(features.encTimeBase, true);
  const probe = await runFfprobe(['-version']);
  assert.equal(probe.code, 0);
  assert.match(probe.stdout, /ffprobe version/);
});

test('TextTail keeps the end of a long stderr', () => {
  const tail = new TextTail(100);
  for (let i = 0; i < 1000; i++) tail.push(`line ${i}\n`);
  assert.ok(tail.toString().length <= 100);
  assert.equal(tail.lastLines(2), 'line 998\nline 999');
});
