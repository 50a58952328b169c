/** What the numbers were measured on: they mean little without it. */
import os from 'node:os';
import { runFfmpeg } from '../../src/video/ffmpeg';
import { resolveBinary } from '../../src/video/ffmpeg-binaries';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  platform: string;
  node: string;
  ffmpeg: { path: string; source: string; version: string };
  python?: string;
}

export async function describeMachine(): Promise<Machine> {
  const bin = resolveBinary('ffmpeg');
  const v = await runFfmpeg(['-hide_banner', '-version']).catch(() => ({ stdout: '' }));
  const firstLine = v.stdout.split('\n')[0] ?? '';
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    ffmpeg: { path: bin.path, source: bin.source, version: /ffmpeg version (\S+)/.exec(firstLine)?.[1] ?? 'unknown' },
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM, ${m.platform}; Node ${m.node}; ffmpeg ${m.ffmpeg.version} (${m.ffmpeg.source})`;
}
