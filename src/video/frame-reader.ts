/**
 * Decode a video into upright RGB24 frames, one at a time, each with its
 * presentation timestamp.
 *
 * Timestamps come from ffmpeg's showinfo filter on stderr, placed last in the
 * same filter chain that produces the raw frames. Why this and not a second
 * ffprobe over frames or packets: showinfo sees exactly the frames that go to
 * stdout, in the same order, in the same process. A parallel ffprobe -show_frames
 * decodes the video a second time (half the CPU of a 2-core machine), and a
 * packet list disagrees with the decoder's output wherever frames are
 * discarded (MP4 edit lists, undecodable leading B-frames). The integer pts is
 * used with the filter's time base, which showinfo also prints, because
 * pts_time is printed with 6 significant digits only (10 ms steps after
 * 1000 s).
 *
 * Frames land straight in reused frame buffers (frame-channel.ts). Only one
 * frame is read ahead: while nobody takes it, reading stops, the socket or
 * pipe fills, and ffmpeg blocks. Memory stays at about two frames whatever
 * the video length.
 */
import type { RawFrame } from '../common/types';
import { swsMatrix, swsRange } from './colour';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { localSocketPair, SocketFrameChannel, StreamFrameChannel, type ChannelCallbacks, type FrameChannel } from './frame-channel';
import { ffmpegFeatures, spawnFfmpeg, spawnFfmpegToSocket, stopProcess, TextTail, type BinaryOptions } from './ffmpeg';
import { parseRational, probeVideo } from './probe';
import type { VideoFrame, VideoInfo } from './types';
import { VideoError } from './errors';

/** Frame buffers kept for reuse; beyond this they are left to the garbage collector. */
const MAX_FREE_FRAMES = 16;

export interface FrameReaderOptions extends BinaryOptions {
  /** Facts from an earlier probeVideo(); probed when absent. */
  info?: VideoInfo;
  /** Milliseconds between SIGTERM and SIGKILL when closing. */
  killGraceMs?: number;
  /** Aborting closes the reader (ffmpeg is stopped). */
  signal?: AbortSignal;
  /**
   * How frames come from ffmpeg: 'socket' (default; straight into frame
   * buffers, falls back to 'pipe' where a local socket cannot be made) or
   * 'pipe' (ffmpeg's stdout stream).
   */
  transport?: 'socket' | 'pipe';
}

type ReaderProcess = ChildProcessByStdio<Writable | null, Readable | null, Readable>;

interface FrameStamp {
  pts: number | null;
  ptsTime: number | null;
  width: number;
  height: number;
}

const SHOWINFO = /\[Parsed_showinfo_\d+ @ [^\]]+\]\s+n:\s*(\d+)\s+pts:\s*(\S+)\s+pts_time:(\S+).*?\bs:(\d+)x(\d+)/;
const SHOWINFO_TB = /\[Parsed_showinfo_\d+ @ [^\]]+\]\s+config in time_base:\s*(\d+)\/(\d+)/;

/** Filters that turn the stored picture upright (clockwise rotation). */
export function uprightFilters(rotation: VideoInfo['rotation']): string[] {
  switch (rotation) {
    case 90:
      return ['transpose=clock'];
    case 180:
      return ['hflip', 'vflip'];
    case 270:
      return ['transpose=cclock'];
    default:
      return [];
  }
}

export function readerArgs(file: string, info: VideoInfo, fpsMode: boolean): string[] {
  const chain = [
    ...uprightFilters(info.rotation),
    // The YUV->RGB matrix and range are named explicitly, from the same
    // mapping the writer uses for RGB->YUV, so that the round trip is exact.
    `scale=in_color_matrix=${swsMatrix(info.colour.colorSpace)}:in_range=${swsRange(info.colour.colorRange)}`,
    'format=rgb24',
    'showinfo=checksum=0',
  ];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info',
    // Rotation is applied by our own filters: ffmpeg 4.x autorotate reads
    // only some of the ways rotation is stored, and this way the frame size
    // is known before the first frame.
    '-noautorotate',
    '-i', file,
    '-map', `0:${info.streamIndex}`,
    '-an', '-sn', '-dn',
    '-vf', chain.join(','),
    // Every decoded frame once: no duplicates or drops to fit a frame rate.
    ...(fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24',
    'pipe:1',
  ];
}

export class FrameReader implements AsyncIterable<VideoFrame> {
  readonly info: VideoInfo;
  readonly file: string;
  /** Frames returned so far. */
  framesRead = 0;
  /** Things that did not stop reading but that a caller may want to log. */
  readonly warnings: string[] = [];

  private proc!: ReaderProcess;
  private channel!: FrameChannel;
  private readonly frameBytes: number;
  private readonly stderr = new TextTail(8192);
  private readonly stamps = new Map<number, FrameStamp>();
  private stderrRest = '';
  private filterTimeBase: number;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private spawnError: Error | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private lastTimestamp = -Infinity;
  private waiters: Array<() => void> = [];
  private readonly killGraceMs: number;
  private reading = false;
  private truncated: string | null = null;
  /**
   * Frame buffers handed back once their frame was written (recycle()),
   * reused for later frames: a fresh 6 MB buffer per 1080p frame cost the
   * Node-RED process a full garbage collection every few frames (bench).
   */
  private readonly free: Buffer[] = [];
  private readonly owned = new WeakSet<ArrayBufferLike>();

  private constructor(file: string, info: VideoInfo, options: FrameReaderOptions) {
    this.file = file;
    this.info = info;
    this.frameBytes = info.width * info.height * 3;
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.filterTimeBase = parseRational(info.timeBase);
  }

  private async launch(args: string[], options: FrameReaderOptions): Promise<void> {
    const callbacks: ChannelCallbacks = { frameBytes: this.frameBytes, allocate: () => this.frameBuffer(), changed: () => this.notify() };
    const socketChannel = new SocketFrameChannel(callbacks);
    const pair = options.transport === 'pipe' ? null : await localSocketPair(socketChannel.readOptions());
    if (pair) {
      socketChannel.attach(pair.ours);
      try {
        this.proc = spawnFfmpegToSocket(args, pair.theirs, options);
      } catch (err) {
        pair.ours.destroy();
        throw err;
      } finally {
        // ffmpeg holds its own copy; ours would keep the socket open after ffmpeg exits.
        pair.theirs.destroy();
      }
      this.channel = socketChannel;
    } else {
      const proc = spawnFfmpeg(args, options);
      this.proc = proc;
      this.channel = new StreamFrameChannel(proc.stdout, callbacks);
    }
    this.proc.once('error', (err) => {
      this.spawnError = err;
      this.notify();
    });
    // 'close' (not 'exit') comes after stderr has ended, so the last
    // showinfo lines and error messages are in by then.
    this.proc.once('close', (code, signal) => {
      this.exit = { code, signal };
      this.notify();
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk: string) => this.onStderr(chunk));
    this.proc.stderr.once('end', () => {
      if (this.stderrRest) this.onStderr('\n');
    });
    if (options.signal) {
      if (options.signal.aborted) void this.close();
      else options.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  static async open(file: string, options: FrameReaderOptions = {}): Promise<FrameReader> {
    const info = options.info ?? (await probeVideo(file, { ...options, scanPackets: false }));
    if (!info.hasVideo) throw new VideoError('VIDEO_NOT_A_VIDEO', `"${file}" has no video stream`);
    const { fpsMode } = await ffmpegFeatures(options);
    const reader = new FrameReader(file, info, options);
    await reader.launch(readerArgs(file, info, fpsMode), options);
    return reader;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private onStderr(chunk: string): void {
    const lines = (this.stderrRest + chunk).split(/\r?\n|\r/);
    this.stderrRest = lines.pop() ?? '';
    let stamped = false;
    for (const line of lines) {
      const m = SHOWINFO.exec(line);
      if (m) {
        const pts = m[2] === 'NOPTS' ? null : Number(m[2]);
        const ptsTime = m[3] === 'NOPTS' ? null : Number(m[3]);
        this.stamps.set(Number(m[1]), {
          pts: pts !== null && Number.isFinite(pts) ? pts : null,
          ptsTime: ptsTime !== null && Number.isFinite(ptsTime) ? ptsTime : null,
          width: Number(m[4]),
          height: Number(m[5]),
        });
        stamped = true;
        continue;
      }
      const tb = SHOWINFO_TB.exec(line);
      if (tb) {
        const v = Number(tb[1]) / Number(tb[2]);
        if (v > 0 && Number.isFinite(v)) this.filterTimeBase = v;
        continue;
      }
      if (line.includes('Parsed_showinfo')) continue; // side-data lines of showinfo
      if (!this.truncated && line.includes('partial file')) this.truncated = line.replace(/^\[[^\]]*\]\s*/, '');
      this.stderr.push(line + '\n');
    }
    if (stamped) this.notify();
  }

  private failure(what: string): Error {
    const detail = this.stderr.lastLines(4);
    const status = this.exit
      ? this.exit.signal
        ? `killed by ${this.exit.signal}`
        : `exit code ${this.exit.code}`
      : 'still running';
    return new VideoError('VIDEO_DECODE_FAILED', `Reading "${this.file}" failed: ${what} (ffmpeg ${status})${detail ? `:\n${detail}` : ''}`);
  }

  private async waitForExit(): Promise<void> {
    while (!this.exit && !this.spawnError) await this.changed();
  }

  /**
   * Hands a frame's buffer back for a later frame, once nothing needs its
   * pixels any more (video-encode has written them). Buffers this reader
   * did not make, or already has, are ignored.
   */
  recycle(data: Uint8Array): void {
    if (this.closed || data.byteOffset !== 0 || data.byteLength !== this.frameBytes || !this.owned.has(data.buffer)) return;
    if (this.free.length >= MAX_FREE_FRAMES || this.free.some((b) => b.buffer === data.buffer)) return;
    this.free.push(Buffer.from(data.buffer, 0, this.frameBytes));
  }

  private frameBuffer(): Buffer {
    const reused = this.free.pop();
    if (reused) return reused;
    const fresh = Buffer.allocUnsafeSlow(this.frameBytes);
    this.owned.add(fresh.buffer);
    return fresh;
  }

  /** Exactly one frame of bytes, null at a clean end of stream. */
  private async readFrameBytes(): Promise<Buffer | null> {
    for (;;) {
      if (this.spawnError) throw this.failure(this.spawnError.message);
      if (this.closed) return null;
      const frame = this.channel.take();
      if (frame) return frame;
      if (this.channel.ended) {
        const partial = this.channel.partialBytes;
        if (partial > 0) {
          await this.waitForExit();
          throw this.failure(`the last frame was cut short (${partial} of ${this.frameBytes} bytes)`);
        }
        return null;
      }
      await this.changed();
    }
  }

  private async stampFor(n: number): Promise<FrameStamp | undefined> {
    for (;;) {
      const s = this.stamps.get(n);
      if (s) {
        this.stamps.delete(n);
        return s;
      }
      // stderr is drained independently of stdout, so the line may still be
      // on its way; once the process has closed, it will not come.
      if (this.exit || this.spawnError || this.closed) return undefined;
      await this.changed();
    }
  }

  private timestampOf(stamp: FrameStamp | undefined, n: number): number {
    let t: number | null = null;
    if (stamp?.pts != null && this.filterTimeBase > 0) t = stamp.pts * this.filterTimeBase;
    else if (stamp?.ptsTime != null) t = stamp.ptsTime;
    if (t === null || !(t > this.lastTimestamp)) {
      // No usable time (or a repeated one): step on by one nominal frame.
      const step = this.info.fps > 0 ? 1 / this.info.fps : 1 / 30;
      const fallback = n === 0 ? 0 : this.lastTimestamp + step;
      if (this.warnings.length < 20) {
        this.warnings.push(`frame ${n}: ${t === null ? 'no timestamp' : `timestamp ${t}s not increasing`}, using ${fallback.toFixed(6)}s`);
      }
      t = fallback;
    }
    this.lastTimestamp = t;
    return t;
  }

  /** The next frame, or null when the video has ended (or the reader was closed). */
  async read(): Promise<VideoFrame | null> {
    if (this.reading) throw new VideoError('VIDEO_MISUSED', 'FrameReader.read() called again before the previous read finished');
    this.reading = true;
    try {
      const bytes = await this.readFrameBytes();
      if (!bytes) {
        if (this.closed) return null;
        await this.waitForExit();
        if (this.spawnError) throw this.failure(this.spawnError.message);
        if (this.exit?.code !== 0) throw this.failure('ffmpeg stopped with an error');
        // ffmpeg decodes what is there and exits 0; the frames so far were
        // real, but the video is not whole, and a caller must not publish it.
        if (this.truncated) throw this.failure(`the file is truncated (${this.truncated})`);
        if (this.framesRead === 0) throw this.failure('no frames could be decoded');
        return null;
      }
      const n = this.framesRead;
      const stamp = await this.stampFor(n);
      if (this.closed) return null;
      if (stamp && (stamp.width !== this.info.width || stamp.height !== this.info.height)) {
        if (n === 0) {
          throw this.failure(
            `frames are ${stamp.width}x${stamp.height}, expected ${this.info.width}x${this.info.height} ` +
              `(rotation ${this.info.rotation}); the probe and ffmpeg disagree about this file`,
          );
        }
        // A mid-stream size change: ffmpeg scales to the first size, so the
        // bytes are still whole frames; say so rather than fail the video.
        if (this.warnings.length < 20) {
          this.warnings.push(`frame ${n}: source size changed to ${stamp.width}x${stamp.height}; ffmpeg rescaled it`);
        }
      }
      const frame: RawFrame = { data: bytes, width: this.info.width, height: this.info.height, channels: 3 };
      this.framesRead++;
      return { index: n, timestamp: this.timestampOf(stamp, n), frame };
    } catch (err) {
      await this.close();
      throw err;
    } finally {
      this.reading = false;
    }
  }

  /** Stop reading: ffmpeg gets SIGTERM, then SIGKILL after the grace period. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.notify();
      // Closing our end first makes a blocked ffmpeg fail its write and exit.
      this.channel.close();
      this.closing = stopProcess(this.proc, this.killGraceMs).then(() => {
        this.proc.stderr.destroy();
        this.notify();
      });
    }
    return this.closing;
  }

  /** True when ffmpeg has exited and its output has been read to the end. */
  get exited(): boolean {
    return this.exit !== null;
  }

  [Symbol.asyncIterator](): AsyncIterator<VideoFrame> {
    return {
      next: async (): Promise<IteratorResult<VideoFrame>> => {
        const f = await this.read();
        return f ? { value: f, done: false } : { value: undefined, done: true };
      },
      // Called when a for-await loop is left early (break, throw, return).
      return: async (): Promise<IteratorResult<VideoFrame>> => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

export function openFrameReader(file: string, options: FrameReaderOptions = {}): Promise<FrameReader> {
  return FrameReader.open(file, options);
}
