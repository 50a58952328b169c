/**
 * The one place that starts ffmpeg and ffprobe processes. Everything else in
 * src/video goes through here, so a change of process library (or of how
 * binaries are found) touches one file.
 *
 * fluent-ffmpeg (the library first planned for this) is not used, for these reasons:
 * - its ffprobe() forces the INI writer and parses it by hand: side data
 *   (the display matrix that carries rotation) is flattened into the stream
 *   object, numbers are coerced, and packet lists cannot be returned;
 * - the frame reader and writer need the raw stdio streams with backpressure
 *   and a kill policy (SIGTERM, then SIGKILL) that fluent-ffmpeg's command
 *   builder hides behind its own event model;
 * - it is archived upstream, so nothing new should grow on it.
 * Plain child_process with explicit argument arrays is shorter than the
 * adapter would be. If fluent-ffmpeg is wanted back, this module is the seam.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { resolveBinary, type BinaryOptions } from './ffmpeg-binaries';

export type { BinaryOptions } from './ffmpeg-binaries';

export type FfmpegProcess = ChildProcessByStdio<Writable | null, Readable, Readable>;
/** An ffmpeg whose stdout goes to a socket of ours (the frame reader's channel). */
export type FfmpegSocketProcess = ChildProcessByStdio<null, null, Readable>;

export interface SpawnOptions extends BinaryOptions {
  /** Give the process a stdin pipe (the frame writer feeds frames through it). */
  stdin?: boolean;
}

/** Processes started here that have not exited yet, for shutdown and tests. */
const live = new Set<ChildProcess>();

export function liveProcessIds(): number[] {
  return [...live].map((p) => p.pid).filter((pid): pid is number => typeof pid === 'number');
}

function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  const forget = (): void => {
    live.delete(child);
  };
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}

function start(bin: string, args: string[], stdin: boolean): FfmpegProcess {
  return track(spawn(bin, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], windowsHide: true }) as FfmpegProcess);
}

/** ffmpeg with its stdout on `socket` (the child gets its own copy; close ours once this returns). */
export function spawnFfmpegToSocket(args: string[], socket: Socket, options: BinaryOptions = {}): FfmpegSocketProcess {
  const bin = resolveBinary('ffmpeg', options).path;
  return track(spawn(bin, args, { stdio: ['ignore', socket, 'pipe'], windowsHide: true }));
}

export function spawnFfmpeg(args: string[], options: SpawnOptions = {}): FfmpegProcess {
  return start(resolveBinary('ffmpeg', options).path, args, options.stdin === true);
}

export function spawnFfprobe(args: string[], options: SpawnOptions = {}): FfmpegProcess {
  return start(resolveBinary('ffprobe', options).path, args, options.stdin === true);
}

/** Keeps the last `limit` characters of a stream of text (ffmpeg's stderr). */
export class TextTail {
  private text = '';
  constructor(private readonly limit = 8192) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.limit * 2) this.text = this.text.slice(-this.limit);
  }
  toString(): string {
    return this.text.slice(-this.limit).trim();
  }
  /** The last few non-empty lines, for error messages. */
  lastLines(n = 5): string {
    return this.toString().split(/\r?\n/).filter((l) => l.trim()).slice(-n).join('\n');
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends BinaryOptions {
  /** Largest stdout kept in memory; ffprobe packet lists of long videos are big. */
  maxStdoutBytes?: number;
}

function collect(child: FfmpegProcess, maxStdout: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let outBytes = 0;
    const err = new TextTail(16384);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdout) {
        child.kill('SIGKILL');
        return;
      }
      out.push(b);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => err.push(s));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (outBytes > maxStdout) {
        reject(new Error(`output larger than ${maxStdout} bytes`));
        return;
      }
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err.toString() });
    });
  });
}

/** Run ffprobe to completion and collect its output (metadata only, never frames). */
export function runFfprobe(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return collect(spawnFfprobe(args, options), options.maxStdoutBytes ?? 256 * 1024 * 1024);
}

/** Run ffmpeg to completion; for short jobs (tests, capability checks). */
export function runFfmpeg(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return collect(spawnFfmpeg(args, options), options.maxStdoutBytes ?? 64 * 1024 * 1024);
}

/**
 * End a process: SIGTERM first so ffmpeg can close its files, SIGKILL after
 * `graceMs` because ffmpeg blocked on a full pipe may never see the first.
 * Resolves once the process has exited.
 */
export function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const ended = (): void => {
      clearTimeout(timer);
      resolve();
    };
    child.once('exit', ended);
    // A process that could not be started (EAGAIN, EMFILE) reports 'error' and never 'exit'.
    child.on('error', () => {
      if (child.pid === undefined) ended();
    });
    // kill() returns false when the process is gone but 'exit' has not been
    // emitted yet; 'exit' still follows, so the result is not needed.
    child.kill('SIGTERM');
  });
}

export interface FfmpegFeatures {
  /** `-fps_mode` (ffmpeg >= 5.1); older builds only know `-vsync`. */
  fpsMode: boolean;
  /** `-enc_time_base` (ffmpeg >= 4.1): needed to keep variable timestamps exact. */
  encTimeBase: boolean;
}

const featureCache = new Map<string, Promise<FfmpegFeatures>>();

/**
 * Ask the binary which options it knows. Static builds report versions like
 * "N-47683-g0e8eb07980", so the help text is more reliable than a version.
 */
export function ffmpegFeatures(options: BinaryOptions = {}): Promise<FfmpegFeatures> {
  const bin = resolveBinary('ffmpeg', options).path;
  let cached = featureCache.get(bin);
  if (!cached) {
    cached = runFfmpeg(['-hide_banner', '-h', 'long'], { ...options, ffmpegPath: bin }).then((r) => ({
      fpsMode: /^\s*-fps_mode\b/m.test(r.stdout),
      encTimeBase: /^\s*-enc_time_base\b/m.test(r.stdout),
    }));
    featureCache.set(bin, cached);
  }
  return cached;
}
