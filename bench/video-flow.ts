/**
 * Child process: one video through video-split -> sam3-segment -> mask-blur
 * -> video-encode in a real Node-RED runtime, embedded here the way an
 * application embeds Node-RED (RED.init / RED.start), with this package
 * loaded from <userDir>/node_modules like any installed node package.
 *
 * Why not node-red-node-test-helper: it wraps every node's send() in a sinon
 * spy, which keeps the arguments of every call, i.e. every frame sent. That
 * is harmless for a 2-second test clip and would dominate the memory figures
 * of a 2-minute 1080p video.
 *
 * Measured while the video runs: wall time from the message into
 * video-split to the message out of video-encode, the event-loop delay of
 * this process (perf_hooks histogram), and the peak RSS and CPU time of
 * this process, the inference host and the ffmpeg reader and writer.
 */
import { mkdirSync, promises as fs, symlinkSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Sam3ModelNode } from '../src/nodes/lib/sam3-model-node';
import { liveProcessIds, probeVideo } from '../src/video';
import { childMain } from './lib/child';
import { LagProbe, type LagSummary } from './lib/lag';
import { commandLine, ProcessSampler, reapedChildrenCpuSec, sampleProcess, type RoleStats } from './lib/proc';
import { round } from './lib/stats';

/** What is sampled of an engine's inference process. */
interface InferenceHostLike {
  pid?: number;
}

export interface VideoFlowArgs {
  clip: string;
  modelDir: string;
  /** Comma-separated phrases, as a user types them. */
  prompt: string;
  /** sam3-segment's strides: every phrase but faces, the face detector's single pass, its tiles (0: off). */
  stride: number;
  faceStride?: number;
  smallFaceStride?: number;
  /** sam3-segment's *smallest face* (px; default 12). */
  smallestFace?: number;
  window: number;
  preset: string;
  crf: number;
  mode: 'blur' | 'pixelate' | 'fill';
}

export interface VideoFlowResult {
  frames: number;
  outputFrames: number;
  seconds: number;
  fps: number;
  detections: { fresh: number; carried: number };
  /** How late a 10 ms timer in the Node-RED process ran, while the video ran. */
  lagMs: LagSummary;
  /** This process (Node-RED) before the video, after the flow and model had loaded. */
  rssBeforeMb: number;
  /** This process's CPU time during the video, user and kernel (pipe copies show as kernel time). */
  nodeRedCpuSec: { user: number; system: number };
  /** Garbage collection in this process while the video ran: pauses summed, the longest, and how many full (mark-compact) collections. */
  gc: { totalMs: number; maxMs: number; majorCount: number; count: number };
  /** Exact CPU time of the ffmpeg processes (reader, writer, probes), counted when they were reaped. */
  ffmpegCpuSec: number;
  /** Peak RSS and CPU seconds per process role: node-red, detector-host (face and text), sam3-host, ffmpeg-reader, ffmpeg-writer. */
  processes: Record<string, RoleStats>;
}

interface NodeRed {
  init(server: http.Server, settings: object): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): unknown };
}

interface ReceivingNode {
  receive(msg: object): void;
}

type Done = { video?: { frames: number; detections: { fresh: number; carried: number } }; payload?: unknown };

const root = path.resolve(__dirname, '..', '..');

function flow(a: VideoFlowArgs, outputDir: string): object[] {
  const tab = 'bench';
  return [
    { id: tab, type: 'tab', label: 'bench' },
    { id: 'model', type: 'sam3-model', modelDir: a.modelDir },
    { id: 'splitter', type: 'video-split', z: tab, window: a.window, stallTimeout: 120, wires: [['seg']] },
    { id: 'seg', type: 'sam3-segment', z: tab, model: 'model', prompts: a.prompt.split(',').map((t) => ({ text: t.trim() })),
      stride: a.stride, faceStride: a.faceStride ?? 1, smallFaceStride: a.smallFaceStride ?? 10, smallestFace: a.smallestFace ?? 12, wires: [['hider']] },
    { id: 'hider', type: 'mask-blur', z: tab, mode: a.mode, wires: [['encoder']] },
    { id: 'encoder', type: 'video-encode', z: tab, outputDir, preset: a.preset, crf: a.crf, wires: [['sink']] },
    // Plain function nodes hand the result to the bench through the global context.
    { id: 'sink', type: 'function', z: tab, func: "global.get('bench').done(msg);\nreturn null;", outputs: 0, wires: [] },
    { id: 'catcher', type: 'catch', z: tab, scope: null, uncaught: false, wires: [['failed']] },
    { id: 'failed', type: 'function', z: tab, func: "global.get('bench').fail(msg);\nreturn null;", outputs: 0, wires: [] },
  ];
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const roles = new Map<number, string>();
function ffmpegRole(pid: number): string {
  const known = roles.get(pid);
  if (known) return known;
  const args = commandLine(pid);
  // An exited process has no command line left: ask again next time.
  if (args.length === 0) return 'ffmpeg-other';
  const role = classify(args);
  roles.set(pid, role);
  return role;
}

function classify(args: string[]): string {
  if (args.includes('pipe:0')) return 'ffmpeg-writer';
  if (args.includes('pipe:1')) return 'ffmpeg-reader';
  return 'ffmpeg-other';
}

async function main(a: VideoFlowArgs): Promise<VideoFlowResult> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sam3-bench-nr-'));
  const userDir = path.join(work, 'user');
  const outputDir = path.join(work, 'out');
  await fs.mkdir(path.join(userDir, 'node_modules'), { recursive: true });
  await fs.mkdir(outputDir);
  // Node-RED loads node packages from <userDir>/node_modules, as after `npm install`.
  mkdirSync(path.join(userDir, 'node_modules', '@sam3-redact'), { recursive: true });
  symlinkSync(root, path.join(userDir, 'node_modules', '@sam3-redact', 'node-red-sam3-redact'), 'dir');
  await fs.writeFile(path.join(userDir, 'flows.json'), JSON.stringify(flow(a, outputDir)));

  let finish: (msg: Done) => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const finished = new Promise<Done>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const bench = {
    done: (msg: Done) => finish(msg),
    fail: (msg: { error?: { message?: string } }) => fail(new Error(msg.error?.message ?? 'flow error')),
  };

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as NodeRed;
  RED.init(http.createServer(), {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    disableEditor: true,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    functionGlobalContext: { bench },
    editorTheme: { projects: { enabled: false } },
    SKIP_BUILD_CHECK: true,
  });
  await RED.start();
  await until('the flow to start', () => RED.nodes.getNode('splitter') !== null && RED.nodes.getNode('splitter') !== undefined, 30_000);
  const model = RED.nodes.getNode('model') as Sam3ModelNode;
  await until('the model to load', () => model.shared.state === 'ready', 60_000);

  // The bundled detectors share one host process ('main'); SAM 3 has its own.
  const hostPids = (): Array<{ pid: number; role: string }> =>
    [...(model.shared.current?.hosts ?? new Map<string, InferenceHostLike>())].flatMap(([group, host]) =>
      host.pid ? [{ pid: host.pid, role: group === 'main' ? 'detector-host' : `${group}-host` }] : []);
  const sampler = new ProcessSampler(() => {
    const list = [{ pid: process.pid, role: 'node-red' }];
    list.push(...hostPids());
    for (const pid of liveProcessIds()) list.push({ pid, role: ffmpegRole(pid) });
    return list;
  });
  const rssBeforeMb = sampleProcess('self')?.rssMb ?? 0;
  const lag = new LagProbe(10);

  sampler.start();
  const gc = { totalMs: 0, maxMs: 0, majorCount: 0, count: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      gc.count++;
      if (((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majorCount++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const children0 = reapedChildrenCpuSec();
  lag.start();
  const t0 = performance.now();
  (RED.nodes.getNode('splitter') as ReceivingNode).receive({ payload: a.clip });
  const done = await finished;
  const seconds = (performance.now() - t0) / 1000;
  const lagMs = lag.stop();
  gcObserver.disconnect();
  const cpu = process.cpuUsage(cpu0);
  const processes = sampler.stop();
  for (const r of Object.values(processes)) {
    r.peakRssMb = round(r.peakRssMb);
    r.cpuSec = round(r.cpuSec, 2);
  }

  const output = String(done.payload);
  // The reader and writer have exited by now; wait until both are reaped.
  await until('ffmpeg to exit', () => liveProcessIds().length === 0, 10_000);
  const ffmpegCpuSec = reapedChildrenCpuSec() - children0;
  const outputFrames = (await probeVideo(output)).frameCount ?? 0;
  const frames = done.video?.frames ?? 0;
  await RED.stop();
  await fs.rm(work, { recursive: true, force: true });
  return {
    frames,
    outputFrames,
    seconds: round(seconds, 2),
    fps: round(frames / seconds, 1),
    detections: done.video?.detections ?? { fresh: 0, carried: 0 },
    lagMs,
    rssBeforeMb: round(rssBeforeMb),
    nodeRedCpuSec: { user: round(cpu.user / 1e6, 2), system: round(cpu.system / 1e6, 2) },
    gc: { totalMs: round(gc.totalMs, 0), maxMs: round(gc.maxMs, 1), majorCount: gc.majorCount, count: gc.count },
    ffmpegCpuSec: round(ffmpegCpuSec, 2),
    processes,
  };
}

if (require.main === module) childMain(main);
