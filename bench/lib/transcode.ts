/**
 * The baseline a user would reach for instead of the flow: one plain ffmpeg
 * transcode of the clip, with the encoder settings video-encode uses
 * (libx264, same preset and crf, yuv420p, audio copied, faststart), run by
 * the same ffmpeg binary the package resolves.
 */
import { promises as fs } from 'node:fs';
import { spawnFfmpeg } from '../../src/video/ffmpeg';
import { ProcessSampler, reapedChildrenCpuSec } from './proc';

export interface TranscodeResult {
  seconds: number;
  fps: number;
  peakRssMb: number;
  cpuSec: number;
}

export async function transcode(clip: string, output: string, frames: number, preset: string, crf: number): Promise<TranscodeResult> {
  const cpu0 = reapedChildrenCpuSec();
  const t0 = performance.now();
  const proc = spawnFfmpeg([
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y',
    '-i', clip,
    '-map', '0:v:0', '-map', '0:a?',
    '-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p',
    '-c:a', 'copy',
    '-map_metadata', '-1', '-movflags', '+faststart',
    output,
  ]);
  const pid = proc.pid;
  const sampler = new ProcessSampler(() => (pid ? [{ pid, role: 'ffmpeg' }] : []));
  sampler.start();
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (s: string) => (stderr += s));
  proc.stdout.resume();
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  const seconds = (performance.now() - t0) / 1000;
  const roles = sampler.stop();
  // Exact once reaped ('close' comes after the exit has been collected).
  const cpuSec = reapedChildrenCpuSec() - cpu0;
  await fs.rm(output, { force: true });
  if (code !== 0) throw new Error(`transcode failed (${code}): ${stderr}`);
  return { seconds, fps: frames / seconds, peakRssMb: roles.ffmpeg?.peakRssMb ?? 0, cpuSec: Number.isFinite(cpuSec) ? cpuSec : (roles.ffmpeg?.cpuSec ?? 0) };
}
