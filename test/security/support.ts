/**
 * What the security, fault and load tests share: hashes and listings to prove
 * that nothing was written or changed, hand-made hostile files, tmpfs mounts
 * for a read-only or full disk, and the ffmpeg processes of a running job.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import type { TestContext } from 'node:test';
import sharp from 'sharp';
import { liveProcessIds } from '../../src/video';
import { buildFixtureModel, FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import { helper, type FlowNode, type TestNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { textured } from '../helpers/textured';

export const inCi = (): boolean => !!process.env.CI && process.env.CI !== 'false';

/** A check that cannot run here: skipped with its reason outside CI, a failure in CI (which must be able to run it). */
export function cannotRun(t: TestContext, reason: string): void {
  if (inCi()) throw new Error(`${reason} (this must run in CI)`);
  t.skip(reason);
}

/** A fresh temporary folder with the fixture model built in its `model` folder. */
export async function workWithModel(prefix?: string): Promise<{ work: string; modelDir: string }> {
  const work = tempDir(prefix);
  const modelDir = path.join(work, 'model');
  await buildFixtureModel(modelDir);
  return { work, modelDir };
}

export async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

/** Every entry under `dir` (hidden ones included), relative, sorted; [] when it does not exist. */
export async function listAll(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
    return entries.map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  } catch {
    return [];
  }
}

export function until(cond: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = async (): Promise<void> => {
      if (await cond()) return resolve();
      if (Date.now() > end) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(() => void check(), 50);
    };
    void check();
  });
}

export const exists = (file: string): Promise<boolean> => fs.access(file).then(() => true, () => false);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The red target the fixture model finds for the prompt "red", on a fine checkerboard. */
export const RED_TARGET = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red, pattern: [200, 30, 30] as [number, number, number] };

/** A PNG (or JPEG) showing RED_TARGET (scaled to fit small sizes). */
export async function redImage(width = 200, height = 140, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const target = width >= 100 ? RED_TARGET : { ...RED_TARGET, x: 8, y: 8, width: Math.round(width / 2), height: Math.round(height / 2) };
  const img = sharp(Buffer.from(textured(width, height, [target]).data), { raw: { width, height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

/** Share of pure-ish red pixels in an encoded image: 0 once the target is hidden. */
export async function redShare(image: Buffer | string): Promise<number> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let i = 0; i < data.length; i += 3) if (data[i] > 180 && data[i + 1] < 90 && data[i + 2] < 90) red++;
  return red / (info.width * info.height);
}

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/**
 * A well-formed PNG (valid CRCs) whose IHDR claims width x height RGB pixels,
 * with a few hundred bytes of image data: a decoder that trusts the header
 * would allocate width * height * 3 bytes.
 */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real JPEG whose SOF header is patched to claim width x height. */
export function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let p = 2; p + 9 < out.length; ) {
    if (out[p] !== 0xff) throw new Error(`not a JPEG marker at ${p}`);
    const marker = out[p + 1];
    if (marker >= 0xc0 && marker <= 0xc3) {
      out.writeUInt16BE(height, p + 5);
      out.writeUInt16BE(width, p + 7);
      return out;
    }
    p += 2 + out.readUInt16BE(p + 2);
  }
  throw new Error('no SOF marker found');
}

/** Mounts a tmpfs (e.g. `size=1m` or `ro,size=1m`); the reason it failed, or undefined on success. */
export function mountTmpfs(dir: string, options: string): string | undefined {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error) return `mount could not run: ${r.error.message}`;
  if (r.status !== 0) return `mount -t tmpfs -o ${options} was refused (${(r.stderr || '').trim() || `exit ${r.status}`}); it needs root or CAP_SYS_ADMIN`;
  return undefined;
}

export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

/** Bytes in use on the filesystem holding `dir`. */
export async function usedBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return (s.blocks - s.bfree) * s.bsize;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The ffmpeg started by this process that encodes an output (it writes a hidden .partial file). */
export function encoderPid(): number | undefined {
  return liveProcessIds().find((pid) => cmdline(pid).some((a) => a.endsWith('.partial')));
}

/** The ffmpeg started by this process that decodes `source` into frames (not the ffprobe that reads its facts first). */
export function decoderPid(source: string): number | undefined {
  return liveProcessIds().find((pid) => {
    const args = cmdline(pid);
    return args.includes(source) && !args.some((a) => a.endsWith('.partial')) && !/ffprobe/.test(args[0] ?? '');
  });
}

/** Child processes of this process (the inference host among them). */
export function childPids(): number[] {
  const kids: number[] = [];
  const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  for (const name of pids) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) kids.push(name);
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

/** Resident memory of a process in bytes (0 when gone). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface Caught {
  error: { message: string; source?: { id?: string; type?: string } };
}

/**
 * Everything that reaches the flow's end (`out`) and its Catch node
 * (`caught`), so a test can wait for one message's outcome and then see that
 * nothing else arrived for it.
 */
export class Outcomes<T = Record<string, unknown>> {
  readonly sent: T[] = [];
  readonly caught: Caught[] = [];
  constructor(out: TestNode, caught: TestNode) {
    out.on('input', (m: T) => this.sent.push(m));
    caught.on('input', (m: Caught) => this.caught.push(m));
  }

  /** What arrived for the next message: waits for the first arrival, then `settleMs` more for stragglers. */
  async next(ms = 30_000, settleMs = 400): Promise<{ sent: T[]; caught: Caught[] }> {
    const [s0, c0] = [this.sent.length, this.caught.length];
    await until(() => this.sent.length > s0 || this.caught.length > c0, ms, 'the flow to send a result or an error');
    await sleep(settleMs);
    return { sent: this.sent.slice(s0), caught: this.caught.slice(c0) };
  }
}

/** sam3-segment ("red") -> mask-blur (fill) -> a helper node, with a Catch node for every error. */
export function imageFlow(modelDir: string): FlowNode[] {
  return inTab([
    { id: 'model', type: 'sam3-model', modelDir },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], wires: [['hider']] },
    { id: 'hider', type: 'mask-blur', mode: 'fill', wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...catchAll,
  ]);
}

/**
 * The video redaction chain every video test here runs: split -> segment
 * ("red", on a stride) -> fill -> encode -> helper 'out', with a Catch node.
 */
export function videoFlow(modelDir: string, o: { window?: number; stride: number }): FlowNode[] {
  return inTab([
    { id: 'model', type: 'sam3-model', modelDir },
    { id: 'splitter', type: 'video-split', ...(o.window ? { window: o.window } : {}), stallTimeout: 30, wires: [['seg']] },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], stride: o.stride, wires: [['hider']] },
    { id: 'hider', type: 'mask-blur', mode: 'fill', wires: [['encoder']] },
    { id: 'encoder', type: 'video-encode', preset: 'ultrafast', wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...catchAll,
  ]);
}

export const WATCHED_EXAMPLE = path.resolve(__dirname, '..', '..', '..', 'examples', 'watched-folder-redaction.json');

/**
 * examples/watched-folder-redaction.json pointed at `folders` through its
 * environment variables, prompt "red", with solid fill (so "is any red
 * left?" is exact); `watch` overrides the watch-folder node's settings.
 */
export function watchedExample(modelDir: string, folders: { inbox: string; out: string }, watch: Record<string, unknown> = {}): FlowNode[] {
  Object.assign(process.env, { SAM3_MODEL_DIR: modelDir, REDACT_WATCH_DIR: folders.inbox, REDACT_OUTPUT_DIR: folders.out, REDACT_PROMPTS: 'red' });
  const flow = JSON.parse(readFileSync(WATCHED_EXAMPLE, 'utf8')) as FlowNode[];
  for (const n of flow) {
    if (n.type === 'mask-blur') n.mode = 'fill';
    if (n.type === 'watch-folder') Object.assign(n, watch);
  }
  return flow;
}

/** What the Node-RED runtime logged at these levels (20 error, 30 warn, 40 info), as text. */
export function logged(...levels: number[]): string[] {
  return helper
    .log()
    .getCalls()
    .map((c) => c.args[0] as { level?: number; msg?: unknown })
    .filter((e) => e && e.level !== undefined && levels.includes(e.level))
    .map((e) => String(e.msg));
}
