/**
 * Tiny test clips made with ffmpeg's lavfi sources, and ffprobe look-ups to
 * check outputs independently of the code under test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg, runFfprobe } from '../../../src/video/ffmpeg';

export interface ClipSpec {
  width?: number;
  height?: number;
  rate?: number;
  duration?: number;
  /** Number of sine audio streams (0, 1 or 2). */
  audio?: number;
  /** Drop 3 of every 10 frames, keeping their timestamps: a variable frame rate. */
  vfr?: boolean;
  /** Tag the video BT.709 (matrix, primaries, transfer) and limited range. */
  bt709?: boolean;
  /** Add a location and creation time, and a subtitle stream. */
  private?: boolean;
  /** Put the moov box at the end (the default) or at the front. */
  faststart?: boolean;
  /** x264 preset (ultrafast by default: the clips only need to exist). */
  preset?: string;
  /** Start the video this many seconds after the audio. */
  videoDelay?: number;
}

export function tempDir(prefix = 'video-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A gray clip with a 20x20 red box moving right from (0, 10). */
export async function makeClip(file: string, spec: ClipSpec = {}): Promise<string> {
  const w = spec.width ?? 160;
  const h = spec.height ?? 120;
  const rate = spec.rate ?? 15;
  const d = spec.duration ?? 2;
  // The box is an overlay because drawbox in ffmpeg 4.1 evaluates x once, not
  // per frame. format=yuv444p inside the source: the 4.x color source
  // rounds odd sizes down when it outputs yuv420p.
  const src =
    `color=c=gray:s=${w}x${h}:r=${rate}:d=${d},format=yuv444p[bg];color=c=red:s=20x20:r=${rate}:d=${d}[box];` +
    `[bg][box]overlay=x=t*40:y=10,format=yuv444p`;
  const args = ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', src];
  const audio = spec.audio ?? 1;
  for (let i = 0; i < audio; i++) args.push('-f', 'lavfi', '-i', `sine=f=${440 + 220 * i}:d=${d}`);
  let srt: string | undefined;
  if (spec.private) {
    srt = file + '.srt';
    fs.writeFileSync(srt, '1\n00:00:00,000 --> 00:00:01,000\nsecret street name\n');
    args.push('-i', srt);
  }
  args.push('-map', '0:v');
  for (let i = 0; i < audio; i++) args.push('-map', `${i + 1}:a`);
  if (srt) args.push('-map', `${audio + 1}:s`, '-c:s', 'mov_text');
  if (spec.vfr) args.push('-vf', `select='not(between(mod(n\\,10)\\,3\\,5))'`);
  if (spec.vfr) args.push('-vsync', 'vfr');
  const even = w % 2 === 0 && h % 2 === 0;
  args.push('-c:v', 'libx264', '-preset', spec.preset ?? 'ultrafast', '-pix_fmt', even ? 'yuv420p' : 'yuv444p');
  if (spec.bt709) args.push('-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv');
  if (audio > 0) args.push('-c:a', 'aac');
  if (audio > 1) args.push('-metadata:s:a:1', 'language=fra');
  if (spec.private) {
    args.push('-metadata', 'location=+48.8577+002.2950/', '-metadata', 'creation_time=2020-01-01T00:00:00Z');
  }
  if (spec.faststart) args.push('-movflags', '+faststart');
  const encoded = spec.videoDelay ? file + '.tmp.mp4' : file;
  args.push(encoded);
  const r = await runFfmpeg(args);
  if (srt) fs.rmSync(srt, { force: true });
  if (r.code !== 0) throw new Error(`making ${file} failed: ${r.stderr}`);
  if (spec.videoDelay) {
    // Shifted in a stream copy: an encode would fill the gap with duplicates.
    const shifted = await runFfmpeg([
      '-hide_banner', '-v', 'error', '-y', '-itsoffset', String(spec.videoDelay), '-i', encoded, '-i', encoded,
      '-map', '0:v', '-map', '1:a?', '-c', 'copy', file,
    ]);
    fs.rmSync(encoded, { force: true });
    if (shifted.code !== 0) throw new Error(`shifting ${file} failed: ${shifted.stderr}`);
  }
  return file;
}

/**
 * Set the video track's display matrix to a clockwise rotation, the way
 * phones store portrait video. Done by hand because the bundled ffmpeg 4.1
 * ignores `-metadata:s:v rotate=90` when encoding and writes the opposite
 * angle when stream-copying (it reads its own file back as rotate=270).
 */
export function setMp4Rotation(file: string, clockwise: 0 | 90 | 180 | 270): void {
  const buf = fs.readFileSync(file);
  const one = 0x00010000;
  const minus = 0xffff0000;
  let pos = buf.indexOf('tkhd');
  while (pos > 0) {
    const body = pos + 4;
    const wide = buf[body] === 1;
    const matrix = body + (wide ? 4 + 8 + 8 + 4 + 4 + 8 : 4 + 4 + 4 + 4 + 4 + 4) + 8 + 2 + 2 + 2 + 2;
    const width = buf.readUInt32BE(matrix + 36) >>> 16;
    const height = buf.readUInt32BE(matrix + 40) >>> 16;
    if (width > 0 && height > 0) {
      const m: Record<number, [number, number, number, number, number, number]> = {
        0: [one, 0, 0, one, 0, 0],
        90: [0, one, minus, 0, height * one, 0],
        180: [minus, 0, 0, minus, width * one, height * one],
        270: [0, minus, one, 0, 0, width * one],
      };
      const [a, b, c, d, tx, ty] = m[clockwise];
      const values = [a, b, 0, c, d, 0, tx, ty, 0x40000000];
      values.forEach((v, i) => buf.writeUInt32BE(v >>> 0, matrix + i * 4));
      fs.writeFileSync(file, buf);
      return;
    }
    pos = buf.indexOf('tkhd', pos + 4);
  }
  throw new Error(`no video tkhd in ${file}`);
}

export interface ProbedStream {
  index: number;
  codec_type: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  duration?: string;
  start_time?: string;
  nb_read_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}

export interface Probed {
  streams: ProbedStream[];
  format: { duration?: string; tags?: Record<string, string> };
}

/** ffprobe's own view of a file, frames counted by decoding (edit lists honoured). */
export async function ffprobeJson(file: string, countFrames = false): Promise<Probed> {
  const r = await runFfprobe([
    '-v', 'error', '-print_format', 'json', '-show_format', '-show_streams',
    ...(countFrames ? ['-count_frames'] : []),
    file,
  ]);
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Probed;
}

/** Sorted presentation times of the decoded video frames. */
export async function framePts(file: string): Promise<number[]> {
  const r = await runFfprobe(['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time,pkt_pts_time', '-of', 'csv=p=0', file]);
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .map((l) => Number(l.split(',').find((x) => x && x !== 'N/A')))
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mean RGB over a rectangle of an RGB24 frame. */
export function meanRgb(
  data: Uint8Array,
  width: number,
  rect: { x: number; y: number; w: number; h: number },
): [number, number, number] {
  const sum = [0, 0, 0];
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    for (let x = rect.x; x < rect.x + rect.w; x++) {
      const o = (y * width + x) * 3;
      sum[0] += data[o];
      sum[1] += data[o + 1];
      sum[2] += data[o + 2];
    }
  }
  const n = rect.w * rect.h;
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** Bounding box of "red" pixels (R high, G and B low) in an RGB24 frame. */
export function redBox(data: Uint8Array, width: number, height: number): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (data[o] > 180 && data[o + 1] < 90 && data[o + 2] < 90) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}
