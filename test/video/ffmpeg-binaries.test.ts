import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveBinary, resolveFfmpegPath } from '../../src/video/ffmpeg-binaries';
import { tempDir } from './support/clips';

function fakeBinary(dir: string, name: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return p;
}

test('an explicit path wins over the environment and PATH', () => {
  const dir = tempDir();
  const mine = fakeBinary(dir, 'my-ffmpeg');
  const env = { FFMPEG_PATH: fakeBinary(dir, 'env-ffmpeg'), PATH: dir };
  assert.deepEqual(resolveBinary('ffmpeg', { ffmpegPath: mine, env }), { path: mine, source: 'option' });
  fs.rmSync(dir, { recursive: true });
});

test('FFMPEG_PATH / FFPROBE_PATH come before PATH', () => {
  const dir = tempDir();
  const probe = fakeBinary(dir, 'probe-from-env');
  fakeBinary(dir, 'ffprobe');
  assert.deepEqual(resolveBinary('ffprobe', { env: { FFPROBE_PATH: probe, PATH: dir } }), { path: probe, source: 'env' });
  fs.rmSync(dir, { recursive: true });
});

test('a configured path that does not work is an error, not a silent fallback', () => {
  assert.throws(() => resolveFfmpegPath({ ffmpegPath: '/nonexistent/ffmpeg' }), /"\/nonexistent\/ffmpeg" \(from options\)/);
  assert.throws(() => resolveFfmpegPath({ env: { FFMPEG_PATH: '/nope/ffmpeg' } }), /FFMPEG_PATH/);
});

test('a binary on PATH is found; files that are not executable are skipped', () => {
  const dir = tempDir();
  const other = tempDir();
  fs.writeFileSync(path.join(other, 'ffmpeg'), 'not executable', { mode: 0o644 });
  const onPath = fakeBinary(dir, 'ffmpeg');
  const env = { PATH: [other, dir].join(path.delimiter) };
  assert.deepEqual(resolveBinary('ffmpeg', { env }), { path: onPath, source: 'path' });
  fs.rmSync(dir, { recursive: true });
  fs.rmSync(other, { recursive: true });
});

test('the npm installer packages are the fallback, and their absence is explained', () => {
  const npm = resolveBinary('ffmpeg', { env: { PATH: '' } });
  assert.equal(npm.source, 'npm');
  assert.match(npm.path, /@ffmpeg-installer/);
  assert.equal(resolveBinary('ffprobe', { env: { PATH: '' } }).source, 'npm');
  assert.throws(
    () => resolveBinary('ffprobe', { env: { PATH: '' }, noNpmFallback: true }),
    /ffprobe not found: set FFPROBE_PATH.*@ffprobe-installer\/ffprobe/,
  );
});
