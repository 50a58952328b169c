/**
 * Source clips for the video benches, made with ffmpeg's lavfi sources:
 * testsrc2 (a moving test card with a running counter) and a sine tone as
 * audio, encoded x264 ultrafast like a camera's high-bitrate file. Clips are
 * kept in a cache folder between runs; making a 120 s 1080p clip takes over
 * a minute on 2 cores.
 *
 * A clip for the face benches also carries a real group photo drifting
 * across the card (see ClipSpec.faces); the still-camera clip has a real
 * photo for a scene instead of the card (ClipSpec.scene), as a fixed camera
 * sees a street or a beach, and a smaller group photo crossing it.
 *
 * testsrc2 is flat colour that x264 compresses with little effort, which
 * makes the encoder fast and the plumbing around it weigh more than it would
 * on camera footage: a conservative content choice for a plumbing bench.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../src/video/ffmpeg';

export interface ClipSpec {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  /**
   * A real photo with faces laid over the test card, half the frame wide,
   * drifting across it and back, so that the face detector has faces to find
   * and follow and mask-blur has covers to draw on every frame.
   */
  faces?: { name: string; file: string };
  /** A real photo as the whole scene, still, in place of the test card; the group photo then crosses it at a quarter of the frame's width. */
  scene?: { name: string; file: string };
}

export const cacheDir = path.join(os.tmpdir(), 'sam3-redact-bench-cache');

export function clipName(c: ClipSpec): string {
  return `${c.scene ? `still-${c.scene.name}` : 'testsrc2'}-${c.width}x${c.height}-${c.fps}fps-${c.seconds}s${c.faces ? `-${c.faces.name}` : ''}.mp4`;
}

export async function ensureClip(c: ClipSpec): Promise<string> {
  await fs.mkdir(cacheDir, { recursive: true });
  const file = path.join(cacheDir, clipName(c));
  if (existsSync(file)) return file;
  const partial = `${file}.partial.mp4`;
  const overlay = c.faces
    ? [
        '-loop', '1', '-framerate', String(c.fps), '-i', c.faces.file,
        '-filter_complex',
        (c.scene ? `[0:v]scale=${c.width}:${c.height},setsar=1[s];[2:v]scale=${Math.round(c.width / 4)}:-2[f];` : `[0:v]null[s];[2:v]scale=${Math.round(c.width / 2)}:-2[f];`) +
          // A triangle wave: across in 4 s and back, so faces keep moving at about 120 px/s at 1080p.
          `[s][f]overlay=x='(W-w)*abs(mod(t/4+1,2)-1)':y='(H-h)*${c.scene ? 0.6 : 0.5}':shortest=1[v]`,
        '-map', '[v]', '-map', '1:a',
      ]
    : [];
  const source = c.scene
    ? ['-loop', '1', '-framerate', String(c.fps), '-t', String(c.seconds), '-i', c.scene.file]
    : ['-f', 'lavfi', '-i', `testsrc2=s=${c.width}x${c.height}:r=${c.fps}:d=${c.seconds}`];
  const r = await runFfmpeg([
    '-hide_banner', '-v', 'error', '-y',
    ...source,
    '-f', 'lavfi', '-i', `sine=f=440:d=${c.seconds}`,
    ...overlay,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k',
    partial,
  ]);
  if (r.code !== 0) throw new Error(`making ${file} failed: ${r.stderr}`);
  await fs.rename(partial, file);
  return file;
}
