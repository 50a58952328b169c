/**
 * Raw-frame throughput ffmpeg -> Node -> ffmpeg at 1080p, with the ffmpeg the
 * package resolves (the npm static build unless FFMPEG_PATH says otherwise).
 * Not a test. Run: node dist/bench/video-pipe.js [seconds=6] [presets=medium,veryfast] [clean|noisy]
 * "noisy" adds temporal grain to the test pattern, closer to camera footage
 * (x264 finds clean synthetic patterns unrealistically easy).
 *
 * Stages, each timed on its own:
 *   pipe-in   ffmpeg copies raw RGB from /dev/zero -> Node reads frames (pipe ceiling)
 *   pipe-out  Node writes Matroska-framed RGB -> ffmpeg discards it (-f null)
 *   decode    FrameReader on an H.264 1080p30 file (decode + RGB + timestamps)
 *   encode    FrameWriter, x264 at the given preset, frames from memory
 *   chain     FrameReader -> FrameWriter, the redaction pipeline minus the model
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnFfmpeg, runFfmpeg } from '../src/video/ffmpeg';
import { resolveBinary } from '../src/video/ffmpeg-binaries';
import { mkvFramePrefix, mkvHeader } from '../src/video/mkv-raw';
import { openFrameReader } from '../src/video/frame-reader';
import { createFrameWriter } from '../src/video/frame-writer';
import { probeVideo } from '../src/video/probe';

const W = 1920;
const H = 1080;
const FPS = 30;
const FRAME = W * H * 3;

function report(stage: string, frames: number, ms: number): void {
  const s = ms / 1000;
  const mb = (frames * FRAME) / 1e6;
  console.log(
    `${stage.padEnd(9)} ${String(frames).padStart(4)} frames in ${s.toFixed(2)} s: ` +
      `${(frames / s).toFixed(1)} fps, ${(mb / s).toFixed(0)} MB/s raw (${((frames / s / FPS) * 100).toFixed(0)}% of real time)`,
  );
}

async function pipeIn(frames: number): Promise<void> {
  const p = spawnFfmpeg([
    '-hide_banner', '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(FPS),
    '-i', '/dev/zero', '-frames:v', String(frames), '-f', 'rawvideo', 'pipe:1',
  ]);
  const t0 = performance.now();
  let got = 0;
  for await (const chunk of p.stdout) got += (chunk as Buffer).length;
  report('pipe-in', Math.floor(got / FRAME), performance.now() - t0);
}

async function pipeOut(frames: number): Promise<void> {
  const p = spawnFfmpeg(['-hide_banner', '-v', 'error', '-f', 'matroska', '-i', 'pipe:0', '-f', 'null', '-'], { stdin: true });
  const stdin = p.stdin;
  if (!stdin) throw new Error('no stdin');
  const data = Buffer.alloc(FRAME, 100);
  const write = (b: Buffer): Promise<void> => new Promise((res, rej) => stdin.write(b, (e) => (e ? rej(e) : res())));
  const t0 = performance.now();
  await write(mkvHeader(W, H));
  for (let i = 0; i < frames; i++) {
    await write(mkvFramePrefix(Math.round((i / FPS) * 1e6), FRAME));
    await write(data);
  }
  stdin.end();
  await new Promise((res) => p.once('exit', res));
  report('pipe-out', frames, performance.now() - t0);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 6);
  const presets = (process.argv[3] ?? 'medium,veryfast').split(',');
  const noisy = process.argv[4] === 'noisy';
  const frames = seconds * FPS;
  const bin = resolveBinary('ffmpeg');
  console.log(`content: ${noisy ? 'test pattern + grain' : 'clean test pattern'}`);
  console.log(`ffmpeg: ${bin.path} (${bin.source}); ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); node ${process.version}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'video-bench-'));
  try {
    await pipeIn(frames);
    await pipeOut(frames);

    const src = path.join(dir, 'src.mp4');
    const made = await runFfmpeg([
      '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${W}x${H}:r=${FPS}:d=${seconds}${noisy ? ',noise=alls=12:allf=t+u' : ''}`,
      '-f', 'lavfi', '-i', `sine=d=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', src,
    ]);
    if (made.code !== 0) throw new Error(made.stderr);
    const info = await probeVideo(src);

    let t0 = performance.now();
    let n = 0;
    let rssMax = 0;
    // One second of real (moving) frames, cycled for the encode stage: a
    // repeated still frame would flatter x264.
    const ring: Array<Buffer | Uint8Array> = [];
    for await (const f of await openFrameReader(src, { info })) {
      if (ring.length < FPS) ring.push(f.frame.data);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      n++;
    }
    report('decode', n, performance.now() - t0);
    console.log(`          (peak RSS ${(rssMax / 1e6).toFixed(0)} MB, ${FPS} frames of it kept on purpose)`);

    for (const p of presets) {
      const writer = await createFrameWriter({ output: path.join(dir, 'enc.mp4'), source: { ...info, path: src }, preset: p });
      t0 = performance.now();
      for (let i = 0; i < frames; i++) {
        await writer.write({ data: ring[i % ring.length], width: W, height: H, channels: 3 }, i / FPS);
      }
      await writer.finish();
      report(`encode`, frames, performance.now() - t0);
      console.log(`          (x264 preset ${p}, crf 20)`);
    }
    ring.length = 0;

    for (const p of presets) {
      const chainWriter = await createFrameWriter({ output: path.join(dir, 'chain.mp4'), source: { ...info, path: src }, preset: p });
      t0 = performance.now();
      n = 0;
      for await (const f of await openFrameReader(src, { info })) {
        await chainWriter.write(f.frame, f.timestamp);
        n++;
      }
      await chainWriter.finish();
      report('chain', n, performance.now() - t0);
      console.log(`          (read -> write, x264 preset ${p})`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
