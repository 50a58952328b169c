/**
 * probeVideo: the facts about a source video that the reader and the writer
 * need (upright size, rotation, timing, audio streams, colour tags).
 */
import fs from 'node:fs';
import { runFfprobe, type BinaryOptions } from './ffmpeg';
import type { AudioStreamInfo, Rotation, VideoInfo } from './types';
import { VideoError } from './errors';

/** The part of ffprobe's JSON that is read here. */
interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  pix_fmt?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  duration?: string;
  nb_frames?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number | string }>;
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { duration?: string; format_name?: string };
}

export interface ProbeOptions extends BinaryOptions {
  /**
   * Read every video packet timestamp (demux only, no decoding) to count
   * frames and detect variable frame rate. On by default; a 2-hour video
   * takes a few seconds. Off: frame count from the container only, and VFR
   * guessed from r_frame_rate vs avg_frame_rate.
   */
  scanPackets?: boolean;
  /** Return hasVideo: false instead of throwing for audio-only files. */
  allowNoVideo?: boolean;
}

/** "30000/1001" -> 29.97; "0/0", "N/A" or garbage -> 0. */
export function parseRational(s: string | undefined): number {
  if (!s) return 0;
  const m = /^(-?\d+(?:\.\d+)?)(?:[/:](\d+(?:\.\d+)?))?$/.exec(s.trim());
  if (!m) return 0;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  return den > 0 && Number.isFinite(num / den) ? num / den : 0;
}

function toNumber(s: string | number | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = typeof s === 'number' ? s : Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** Normalise any angle to the nearest of 0/90/180/270, clockwise. */
export function normaliseRotation(clockwiseDegrees: number): Rotation {
  const q = (((Math.round(clockwiseDegrees / 90) % 4) + 4) % 4) as 0 | 1 | 2 | 3;
  return ([0, 90, 180, 270] as const)[q];
}

/**
 * Clockwise rotation a player applies. The display matrix side data is
 * reported counter-clockwise (av_display_rotation_get), hence the minus; the
 * legacy "rotate" tag (ffprobe < 5) is already clockwise.
 */
function rotationOf(stream: ProbeStream): Rotation {
  for (const sd of stream.side_data_list ?? []) {
    const r = toNumber(sd.rotation);
    if (sd.side_data_type === 'Display Matrix' && r !== undefined) return normaliseRotation(-r);
  }
  const tag = toNumber(stream.tags?.rotate);
  return tag === undefined ? 0 : normaliseRotation(tag);
}

function describe(file: string, stderr: string): string {
  const reasons = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    // "[mov,mp4,... @ 0x55] moov atom not found" and "<file>: Invalid data ...": keep the reason only.
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, ''))
    .map((l) => (l.startsWith(file + ':') ? l.slice(file.length + 1).trim() : l));
  const last = [...new Set(reasons)].slice(-3);
  return last.length ? last.join('; ') : 'ffprobe failed';
}

/** Timestamps unevenly spaced by more than rounding to the time base allows. */
export function isVariableRate(ptsTicks: number[]): boolean {
  if (ptsTicks.length < 3) return false;
  const sorted = [...ptsTicks].sort((a, b) => a - b);
  const deltas: number[] = [];
  for (let i = 1; i < sorted.length; i++) deltas.push(sorted[i] - sorted[i - 1]);
  const median = [...deltas].sort((a, b) => a - b)[Math.floor(deltas.length / 2)];
  // 1.5 ticks: a CFR rate that is not a whole number of ticks (29.97 fps in
  // 1/1000) alternates between two neighbouring deltas.
  const tolerance = Math.max(1.5, median * 0.01);
  return deltas.some((d) => Math.abs(d - median) > tolerance);
}

async function scanVideoPackets(
  file: string,
  streamIndex: number,
  options: BinaryOptions,
): Promise<{ count: number; pts: number[] }> {
  const r = await runFfprobe(
    ['-v', 'error', '-select_streams', String(streamIndex), '-show_entries', 'packet=pts', '-of', 'csv=p=0', file],
    options,
  );
  if (r.code !== 0) throw new VideoError('VIDEO_UNREADABLE', `Cannot read "${file}": ${describe(file, r.stderr)}`);
  // The demuxer reports missing sample data but still exits 0. A file that is
  // still being copied into a watched folder looks exactly like this.
  const partial = /^.*partial file.*$/m.exec(r.stderr);
  if (partial) throw new VideoError('VIDEO_UNREADABLE', `Cannot read "${file}": the file is truncated (${partial[0].replace(/^\[[^\]]*\]\s*/, '')})`);
  const pts: number[] = [];
  let count = 0;
  for (const line of r.stdout.split('\n')) {
    const t = line.trim().replace(/,$/, '');
    if (!t) continue;
    count++;
    const n = Number(t);
    if (Number.isFinite(n)) pts.push(n);
  }
  return { count, pts };
}

export async function probeVideo(file: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new VideoError('VIDEO_UNREADABLE', `Cannot read "${file}": ${code === 'ENOENT' ? 'no such file' : String(err)}`);
  }
  if (!stat.isFile()) throw new VideoError('VIDEO_UNREADABLE', `Cannot read "${file}": not a regular file`);
  if (stat.size === 0) throw new VideoError('VIDEO_UNREADABLE', `Cannot read "${file}": the file is empty`);

  const r = await runFfprobe(['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], options);
  if (r.code !== 0) {
    throw new VideoError('VIDEO_NOT_A_VIDEO', `Cannot read "${file}" as a video: ${describe(file, r.stderr)}`);
  }
  let parsed: ProbeOutput;
  try {
    parsed = JSON.parse(r.stdout) as ProbeOutput;
  } catch {
    throw new VideoError('VIDEO_NOT_A_VIDEO', `Cannot read "${file}" as a video: ffprobe gave unreadable output`);
  }
  const streams = parsed.streams ?? [];
  if (streams.length === 0) throw new VideoError('VIDEO_NOT_A_VIDEO', `Cannot read "${file}" as a video: no media streams found`);

  const audioStreams: AudioStreamInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => {
      const info: AudioStreamInfo = {
        index: s.index,
        codec: s.codec_name ?? 'unknown',
        channels: s.channels ?? 0,
        sampleRate: toNumber(s.sample_rate) ?? 0,
      };
      const lang = s.tags?.language;
      if (lang && lang !== 'und') info.language = lang;
      return info;
    });

  // Cover art in MP4/MKV is a video stream too; it is not the video.
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const formatDuration = toNumber(parsed.format?.duration) ?? 0;
  if (!video) {
    if (options.allowNoVideo) {
      return {
        hasVideo: false,
        streamIndex: -1,
        codec: '',
        width: 0,
        height: 0,
        codedWidth: 0,
        codedHeight: 0,
        rotation: 0,
        sampleAspectRatio: '1:1',
        fps: 0,
        durationSec: formatDuration,
        timeBase: '',
        variableFrameRate: false,
        audioStreams,
        colour: { colorSpace: null, colorPrimaries: null, colorTransfer: null, colorRange: null, pixFmt: null },
      };
    }
    const kinds = [...new Set(streams.map((s) => s.codec_type ?? 'unknown'))].join(', ');
    throw new VideoError('VIDEO_NOT_A_VIDEO', `"${file}" has no video stream (it has: ${kinds})`);
  }
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  if (codedWidth <= 0 || codedHeight <= 0) {
    throw new VideoError('VIDEO_NOT_A_VIDEO', `Cannot read "${file}" as a video: the video stream has no frame size (damaged or unsupported)`);
  }
  const rotation = rotationOf(video);
  const sideways = rotation === 90 || rotation === 270;

  const sarMatch = /^(\d+):(\d+)$/.exec(video.sample_aspect_ratio ?? '');
  let sampleAspectRatio = '1:1';
  if (sarMatch && Number(sarMatch[1]) > 0 && Number(sarMatch[2]) > 0) {
    // Turning the picture sideways turns its pixels too.
    sampleAspectRatio = sideways ? `${sarMatch[2]}:${sarMatch[1]}` : `${sarMatch[1]}:${sarMatch[2]}`;
  }

  const avg = parseRational(video.avg_frame_rate);
  const real = parseRational(video.r_frame_rate);
  const fps = avg > 0 ? avg : real;
  const timeBase = video.time_base ?? '1/1000';
  let frameCount = toNumber(video.nb_frames);
  if (frameCount !== undefined && frameCount <= 0) frameCount = undefined;
  // r_frame_rate is the lowest rate that represents all timestamps; it differs
  // from the average rate when timestamps are uneven.
  let variableFrameRate = avg > 0 && real > 0 && Math.abs(avg - real) / real > 0.01;

  if (options.scanPackets !== false) {
    const scan = await scanVideoPackets(file, video.index, options);
    if (scan.count === 0) throw new VideoError('VIDEO_NOT_A_VIDEO', `Cannot read "${file}" as a video: the video stream has no frames`);
    frameCount ??= scan.count;
    variableFrameRate = isVariableRate(scan.pts);
  }

  return {
    hasVideo: true,
    streamIndex: video.index,
    codec: video.codec_name ?? 'unknown',
    width: sideways ? codedHeight : codedWidth,
    height: sideways ? codedWidth : codedHeight,
    codedWidth,
    codedHeight,
    rotation,
    sampleAspectRatio,
    fps,
    ...(frameCount !== undefined ? { frameCount } : {}),
    durationSec: toNumber(video.duration) ?? formatDuration,
    timeBase,
    variableFrameRate,
    audioStreams,
    colour: {
      colorSpace: video.color_space ?? null,
      colorPrimaries: video.color_primaries ?? null,
      colorTransfer: video.color_transfer ?? null,
      colorRange: video.color_range ?? null,
      pixFmt: video.pix_fmt ?? null,
    },
  };
}
