/**
 * Encode upright RGB24 frames back into a video next to the source's audio.
 *
 * One encode (H.264 yuv420p by default). Frames go to ffmpeg as a Matroska
 * stream with a timestamp per frame (see mkv-raw.ts), so constant and
 * variable frame rates take the same path and every frame keeps its source
 * time. Audio comes straight from the source file, every stream, mapped by
 * type and copied where the container allows it.
 *
 * The output appears only when it is complete: ffmpeg writes a hidden
 * temporary file in the output folder, which is renamed over the output when
 * ffmpeg exits 0 and removed otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempNameFor } from '../common/atomic-write';
import type { RawFrame } from '../common/types';
import { colourTagArgs, swsMatrix, swsRange } from './colour';
import { ffmpegFeatures, spawnFfmpeg, stopProcess, TextTail, type BinaryOptions, type FfmpegProcess } from './ffmpeg';
import { MKV_TICKS_PER_SECOND, mkvFramePrefix, mkvHeader } from './mkv-raw';
import { fixMp4LastFrameDuration } from './mp4-last-frame';
import { isVariableRate } from './probe';
import type { AudioStreamInfo, VideoInfo } from './types';
import { VideoError } from './errors';

export type OutputFormat = 'mp4' | 'mov' | 'mkv';

export interface FrameWriterOptions extends BinaryOptions {
  /** Final output path; the folder must exist. */
  output: string;
  /** The source video: its facts (probeVideo) and its path (audio is read from it). */
  source: VideoInfo & { path: string };
  /** Presentation time of each frame in seconds (FrameReader's timestamps). */
  timestamps?: number[];
  /** x264/x265 constant rate factor: lower is better quality (default 20). */
  crf?: number;
  preset?: string;
  codec?: string;
  /** Leave the audio out (default false: every audio stream is kept). */
  dropAudio?: boolean;
  /** Container; by default from the output extension (.mp4/.m4v, .mov, .mkv). */
  format?: OutputFormat;
  /** Milliseconds between SIGTERM and SIGKILL on abort. */
  killGraceMs?: number;
  /** Called just before the finished file takes the output's name; a throw fails finish() and leaves no file. */
  beforePublish?: () => void;
}

export interface FrameWriterResult {
  output: string;
  frames: number;
  /** Encoded size: the frame size padded to even numbers. */
  width: number;
  height: number;
  /** Things done differently from the source, e.g. audio re-encoded to AAC. */
  warnings: string[];
}

export interface FrameWriter {
  /** Hidden file ffmpeg writes to until finish() renames it. */
  readonly tempPath: string;
  readonly framesWritten: number;
  /**
   * Queue one upright frame. Resolves when ffmpeg has taken the bytes, so
   * the caller may reuse the buffer afterwards and memory stays bounded.
   * `timestamp` (seconds) overrides options.timestamps[i] and index / fps.
   */
  write(frame: RawFrame, timestamp?: number): Promise<void>;
  /** Close the input, wait for ffmpeg, publish the output. */
  finish(): Promise<FrameWriterResult>;
  /** Stop ffmpeg and remove the temporary file. Never leaves a partial output. */
  abort(): Promise<void>;
}

const COPY_OK: Record<OutputFormat, ((codec: string) => boolean)> = {
  // What the MP4 muxer of ffmpeg 4.x takes without -strict experimental.
  mp4: (c) => ['aac', 'mp3', 'ac3', 'eac3', 'alac'].includes(c),
  mov: (c) => ['aac', 'mp3', 'ac3', 'eac3', 'alac'].includes(c) || /^pcm_(s16|s24|s32|f32|f64)(le|be)$/.test(c),
  mkv: () => true,
};

export function formatFor(output: string, explicit?: OutputFormat): OutputFormat {
  if (explicit) return explicit;
  const ext = path.extname(output).toLowerCase();
  if (ext === '.mp4' || ext === '.m4v') return 'mp4';
  if (ext === '.mov') return 'mov';
  if (ext === '.mkv') return 'mkv';
  throw new VideoError('VIDEO_MISUSED', `Cannot tell the container from "${output}": use .mp4, .m4v, .mov or .mkv, or set format`);
}

/** "1/15360" -> "1:15360" for -enc_time_base; null when unusable. */
function encoderTimeBase(timeBase: string): { arg: string; seconds: number } | null {
  const m = /^(\d+)\/(\d+)$/.exec(timeBase);
  if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) return null;
  return { arg: `${m[1]}:${m[2]}`, seconds: Number(m[1]) / Number(m[2]) };
}

export function audioArgs(streams: AudioStreamInfo[], format: OutputFormat, warnings: string[]): string[] {
  const args: string[] = [];
  streams.forEach((s, i) => {
    if (COPY_OK[format](s.codec)) {
      args.push(`-c:a:${i}`, 'copy');
    } else {
      const kbps = Math.min(512, Math.max(128, 64 * (s.channels || 2)));
      args.push(`-c:a:${i}`, 'aac', `-b:a:${i}`, `${kbps}k`);
      warnings.push(`audio stream ${s.index} (${s.codec}) re-encoded to AAC: ${format} cannot carry it`);
    }
    // Stream tags are all dropped with the metadata; the language is the one
    // a player needs to choose between tracks, and it reveals nothing.
    if (s.language) args.push(`-metadata:s:a:${i}`, `language=${s.language}`);
  });
  return args;
}

/** A frame or timestamp the caller got wrong: that write fails, the writer goes on. */
export class FrameInputError extends Error {
  override name = 'FrameInputError';
  readonly code = 'FRAME_INVALID';
}

class FfmpegFrameWriter implements FrameWriter {
  readonly tempPath: string;
  framesWritten = 0;

  private readonly output: string;
  private readonly format: OutputFormat;
  private readonly source: VideoInfo & { path: string };
  private readonly options: FrameWriterOptions;
  private readonly fpsMode: boolean;
  private readonly encTb: { arg: string; seconds: number };
  private readonly bFrames: boolean;
  private readonly frameBytes: number;
  private readonly warnings: string[] = [];
  private readonly stderr = new TextTail(8192);
  private proc: FfmpegProcess | null = null;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private state: 'open' | 'finishing' | 'done' | 'aborted' | 'failed' = 'open';
  private failure: Error | null = null;
  private firstTs = 0;
  private lastTs = -Infinity;
  private lastTick = -Infinity;
  private recentDeltas: number[] = [];
  private ticks: number[] = [];

  constructor(options: FrameWriterOptions, fpsMode: boolean) {
    this.options = options;
    this.source = options.source;
    this.output = path.resolve(options.output);
    this.format = formatFor(options.output, options.format);
    this.fpsMode = fpsMode;
    this.frameBytes = this.source.width * this.source.height * 3;
    this.encTb = encoderTimeBase(this.source.timeBase) ?? { arg: '1:90000', seconds: 1 / 90000 };
    // With B-frames, the decode timestamps of uneven frames lag their
    // presentation times by a varying amount, and MP4 muxers before ffmpeg
    // 5 compute the track length from decode times: the edit list then cuts
    // off the last frames (measured: 6 of 8 frames shown). Constant-rate
    // video keeps B-frames, which save 10-20% at the same quality.
    const irregular = options.timestamps ? isVariableRate(options.timestamps.map((t) => Math.round(t / this.encTb.seconds))) : false;
    this.bFrames = !(this.source.variableFrameRate || irregular);
    // Hidden and with a suffix no tool treats as video, so folder watchers
    // (ours included) do not pick up a half-written file; short whatever the
    // output is called, and naming its owner for the clean-up after a crash.
    this.tempPath = tempNameFor(this.output);
  }

  private args(firstTs: number): string[] {
    const src = this.source;
    const colour = colourTagArgs(src.colour);
    for (const s of colour.skipped) this.warnings.push(`colour tag ${s} not known to ffmpeg 4.x, left out`);
    const [sarNum, sarDen] = src.sampleAspectRatio.split(':');
    const filters = [
      // yuv420p needs even sizes: add a black row/column, never rescale. Only
      // when needed: the filter copies every frame even when it pads nothing.
      ...(src.width % 2 || src.height % 2 ? ['pad=ceil(iw/2)*2:ceil(ih/2)*2'] : []),
      `setsar=${sarNum || 1}/${sarDen || 1}`,
      // Chroma is taken from every second pixel rather than filtered: the
      // reader's interpolated chroma then comes back closer to the source's
      // (round-trip PSNR u/v 50.9/48.5 dB against 46.9/45.2 with the default
      // bicubic, on the bench clip) and the conversion costs a third less CPU.
      `scale=out_color_matrix=${swsMatrix(src.colour.colorSpace)}:out_range=${swsRange(src.colour.colorRange)}:flags=neighbor`,
      'format=yuv420p',
    ];
    const keepAudio = !this.options.dropAudio && src.audioStreams.length > 0;
    const codec = this.options.codec ?? 'libx264';
    const args = [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y',
      // The frames' times are written relative to the first frame; the offset
      // puts the first frame back where it was in the source, next to audio
      // that ffmpeg reads relative to the same file start.
      ...(firstTs !== 0 ? ['-itsoffset', firstTs.toFixed(6)] : []),
      '-f', 'matroska', '-i', 'pipe:0',
      ...(keepAudio ? ['-i', src.path] : []),
      '-map', '0:v:0',
      ...(keepAudio ? ['-map', '1:a?'] : []),
      '-vf', filters.join(','),
      '-c:v', codec,
      '-preset', this.options.preset ?? 'medium',
      '-crf', String(this.options.crf ?? 20),
      '-pix_fmt', 'yuv420p',
      ...(this.bFrames ? [] : ['-bf', '0']),
      ...(codec === 'libx265' && this.format !== 'mkv' ? ['-tag:v', 'hvc1'] : []),
      ...colour.args,
      // Each frame once, at its own time, in the source's time base.
      ...(this.fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
      '-enc_time_base', this.encTb.arg,
      ...(keepAudio ? audioArgs(src.audioStreams, this.format, this.warnings) : ['-an']),
      // Privacy: no global/stream metadata (location, creation time, device),
      // no chapters, no subtitle or data streams (GPS tracks live there).
      '-map_metadata', '-1', '-map_chapters', '-1', '-sn', '-dn',
      ...(this.format === 'mkv' ? [] : ['-movflags', '+faststart+write_colr']),
      '-f', this.format === 'mkv' ? 'matroska' : this.format,
      this.tempPath,
    ];
    return args;
  }

  private start(firstTs: number): void {
    const proc = spawnFfmpeg(this.args(firstTs), { ...this.options, stdin: true });
    this.proc = proc;
    // 'close' rather than 'exit': it comes after stderr has been read to the
    // end, so error messages carry ffmpeg's own explanation.
    this.exited = new Promise((resolve) => {
      proc.once('close', (code, signal) => resolve({ code, signal }));
      proc.once('error', (err) => {
        this.fail(new VideoError('VIDEO_ENCODE_FAILED', `Cannot start ffmpeg: ${err.message}`));
        resolve({ code: null, signal: null });
      });
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s: string) => this.stderr.push(s));
    // EPIPE when ffmpeg dies first; reported through the exit status.
    proc.stdin?.on('error', () => undefined);
    proc.once('close', (code, signal) => {
      if (this.state === 'open' && !this.failure) {
        this.fail(this.error(`ffmpeg stopped while frames were still coming (${signal ?? `exit code ${code}`})`));
      }
    });
  }

  private error(what: string): Error {
    const detail = this.stderr.lastLines(4);
    return new VideoError('VIDEO_ENCODE_FAILED', `Writing "${this.output}" failed: ${what}${detail ? `:\n${detail}` : ''}`);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
  }

  private timestampFor(i: number, explicit: number | undefined): number {
    const given = this.options.timestamps;
    if (explicit === undefined && given && i >= given.length) {
      throw new FrameInputError(`frame ${i}: only ${given.length} timestamps were given`);
    }
    const t = explicit ?? given?.[i];
    if (t !== undefined) {
      if (!Number.isFinite(t)) throw new FrameInputError(`frame ${i}: timestamp ${t} is not a finite number`);
      return t;
    }
    if (!(this.source.fps > 0)) {
      throw new FrameInputError(`frame ${i}: no timestamp given and the source has no frame rate to derive one`);
    }
    return i / this.source.fps;
  }

  private checkFrame(frame: RawFrame): void {
    const { width, height } = this.source;
    if (frame.channels !== 3) throw new FrameInputError(`frames must be RGB (channels 3), got channels ${String(frame.channels)}`);
    if (frame.width !== width || frame.height !== height) {
      throw new FrameInputError(`frames must be ${width}x${height} like the upright source, got ${frame.width}x${frame.height}`);
    }
    if (frame.data.length !== this.frameBytes) {
      throw new FrameInputError(`frame data must be ${this.frameBytes} bytes (${width}x${height}x3), got ${frame.data.length}`);
    }
  }

  private pipeWrite(chunk: Uint8Array): Promise<void> {
    const proc = this.proc;
    const stdin = proc?.stdin;
    const exited = this.exited;
    if (!proc || !stdin || !exited) return Promise.reject(new VideoError('VIDEO_ENCODE_FAILED', 'ffmpeg is not running'));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error | null): void => {
        if (settled) return;
        settled = true;
        proc.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = (): void => settle(this.failure ?? this.error('ffmpeg exited'));
      proc.once('close', onClose);
      // Resolve on the write callback, not on write()'s return value: the
      // callback fires once the bytes are in the pipe, so the caller's buffer
      // is free again and at most one frame per writer is held in Node.
      stdin.write(chunk, (err) => {
        if (!err) return settle(null);
        // A broken pipe means ffmpeg is exiting: once it has, its stderr says why (a read-only folder, a full disk).
        void exited.then(() => settle(this.failure ?? this.error(err.message)));
      });
    });
  }

  write(frame: RawFrame, timestamp?: number): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.state !== 'open') throw new VideoError('VIDEO_MISUSED', `write() after ${this.state === 'aborted' ? 'abort()' : 'finish()'}`);
      if (this.failure) throw this.failure;
      this.checkFrame(frame);
      const i = this.framesWritten;
      const ts = this.timestampFor(i, timestamp);
      const tick = Math.round(ts / this.encTb.seconds);
      if (i > 0 && !(tick > this.lastTick)) {
        throw new FrameInputError(
          `frame ${i}: timestamp ${ts}s is not after the previous frame's ${this.lastTs}s ` +
            `(at the source time base ${this.encTb.arg.replace(':', '/')})`,
        );
      }
      let header: Buffer | null = null;
      if (!this.proc) {
        this.firstTs = ts;
        this.start(ts);
        header = mkvHeader(this.source.width, this.source.height);
      }
      const mkvTicks = Math.round((ts - this.firstTs) * MKV_TICKS_PER_SECOND);
      const prefix = mkvFramePrefix(mkvTicks, this.frameBytes);
      await this.pipeWrite(header ? Buffer.concat([header, prefix]) : prefix);
      await this.pipeWrite(frame.data);
      if (i > 0) {
        this.recentDeltas.push(ts - this.lastTs);
        if (this.recentDeltas.length > 32) this.recentDeltas.shift();
      }
      // Kept for the end-of-job regularity check; the recent past is enough.
      this.ticks.push(tick);
      if (this.ticks.length > 4096) this.ticks.splice(0, this.ticks.length - 2048);
      this.lastTs = ts;
      this.lastTick = tick;
      this.framesWritten++;
    };
    const p = this.queue.then(run);
    // Keep the queue alive after a failed write; the failure is reported to
    // that write's caller and remembered for the next ones.
    this.queue = p.catch((err: unknown) => {
      if (err instanceof Error && !(err instanceof FrameInputError) && this.state === 'open') this.fail(err);
    });
    return p;
  }

  /** How long the last frame lasts: to the end of the source's video if that is plausible. */
  private lastFrameDuration(): number {
    const sorted = [...this.recentDeltas].sort((a, b) => a - b);
    const typical = sorted.length
      ? sorted[Math.floor(sorted.length / 2)]
      : this.source.fps > 0
        ? 1 / this.source.fps
        : 1 / 30;
    const toEnd = this.source.durationSec - (this.lastTs - this.firstTs);
    return toEnd > typical * 0.2 && toEnd < typical * 3 ? toEnd : typical;
  }

  async finish(): Promise<FrameWriterResult> {
    if (this.state !== 'open') throw new VideoError('VIDEO_MISUSED', `finish() after ${this.state === 'aborted' ? 'abort()' : 'finish()'}`);
    await this.queue;
    if (this.failure) {
      await this.abort();
      throw this.failure;
    }
    if (!this.proc || !this.exited || this.framesWritten === 0) {
      await this.abort();
      throw new VideoError('VIDEO_ENCODE_FAILED', `Writing "${this.output}" failed: no frames were written`);
    }
    this.state = 'finishing';
    this.proc.stdin?.end();
    const { code, signal } = await this.exited;
    // ffmpeg 4.x exits with 0 when writing the trailer fails (the disk filled up at the end, or the
    // faststart rewrite did not fit): the file is then incomplete and must not become the output.
    const trailerFailed = /Error writing trailer/.test(this.stderr.toString());
    if (code !== 0 || this.failure || trailerFailed) {
      this.state = 'failed';
      await removeQuietly(this.tempPath);
      throw this.failure ?? this.error(trailerFailed ? 'ffmpeg could not finish the file' : `ffmpeg ${signal ? `killed by ${signal}` : `exit code ${code}`}`);
    }
    try {
      if (this.format !== 'mkv') await fixMp4LastFrameDuration(this.tempPath, this.lastFrameDuration());
      if (this.bFrames && isVariableRate(this.ticks)) {
        this.warnings.push('timestamps were uneven although the source was probed as constant rate; B-frames were on');
      }
      this.options.beforePublish?.();
      await fs.promises.rename(this.tempPath, this.output);
    } catch (err) {
      this.state = 'failed';
      await removeQuietly(this.tempPath);
      throw new VideoError('VIDEO_ENCODE_FAILED', `Writing "${this.output}" failed: ${(err as Error).message}`);
    }
    this.state = 'done';
    return {
      output: this.output,
      frames: this.framesWritten,
      width: this.source.width + (this.source.width % 2),
      height: this.source.height + (this.source.height % 2),
      warnings: [...this.warnings],
    };
  }

  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.fail(new VideoError('VIDEO_ENCODE_FAILED', `Writing "${this.output}" was aborted`));
    if (this.proc) {
      this.proc.stdin?.destroy();
      await stopProcess(this.proc, this.options.killGraceMs ?? 2000);
    }
    await removeQuietly(this.tempPath);
  }
}

async function removeQuietly(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
}

/**
 * Prepare a writer. ffmpeg starts with the first frame (its start time is
 * part of the command line); problems that can be seen up front throw here.
 */
export async function createFrameWriter(options: FrameWriterOptions): Promise<FrameWriter> {
  const { source, output } = options;
  if (!output) throw new VideoError('VIDEO_MISUSED', 'createFrameWriter: output path is required');
  if (!source?.path || !source.hasVideo) throw new VideoError('VIDEO_MISUSED', 'createFrameWriter: source must be a probed video with its path');
  if (!(source.width > 0 && source.height > 0)) throw new VideoError('VIDEO_MISUSED', 'createFrameWriter: source has no frame size');
  if (path.resolve(output) === path.resolve(source.path)) {
    throw new VideoError('VIDEO_MISUSED', `createFrameWriter: output "${output}" would overwrite the source`);
  }
  formatFor(output, options.format);
  const dir = path.dirname(path.resolve(output));
  const st = await fs.promises.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new VideoError('VIDEO_ENCODE_FAILED', `createFrameWriter: output folder "${dir}" does not exist`);
  const { fpsMode, encTimeBase } = await ffmpegFeatures(options);
  if (!encTimeBase) {
    throw new VideoError('VIDEO_ENCODE_FAILED', 'createFrameWriter: this ffmpeg has no -enc_time_base (needs ffmpeg 4.1 or newer)');
  }
  return new FfmpegFrameWriter(options, fpsMode);
}
