/**
 * Child process: what mask-blur costs (redactImage with the node's
 * defaults: Gaussian blur, masks grown 4 % and feathered 4 px), against the
 * tutorial's way in Pillow (blur the whole image, paste it through the
 * mask), on the same pixels and the same three face-sized masks. Both sides
 * run here, one after the other, in the same run.
 *
 * Cases: a 1080p video frame as video-split hands it over (raw RGB in, raw
 * RGB out, no codec, redacted in its own buffer as mask-blur does with
 * video frames); a 1080p and a 12 MP photo as JPEG (decode, redact,
 * encode JPEG q90: what mask-blur does with a photo); and the 12 MP photo as
 * raw pixels, which separates the redaction from the codec.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { boxMaskToRle } from '../src/common/rle';
import type { Box, Instance, RawFrame } from '../src/common/types';
import { redactImage } from '../src/redact';
import { runFfmpeg } from '../src/video/ffmpeg';
import { ellipseMask } from '../test/redact/helpers';
import { childMain } from './lib/child';
import { median, round } from './lib/stats';

export interface RedactCostArgs {
  /** Timed runs per case and side, spread over the rounds. */
  iterations: number;
  rounds: number;
  python: string;
}

export interface CaseResult {
  name: string;
  kind: 'raw' | 'jpeg';
  width: number;
  height: number;
  /** Median ms per image, mask-blur's redactImage. */
  oursMs: number;
  /** Median ms per image, Pillow blur + paste; null when Pillow could not be run. */
  pillowMs: number | null;
  /** Pillow's steps (median ms): decode, blur, paste, encode. */
  pillowSteps: Record<string, number> | null;
  speedup: number | null;
  radius: number;
}

export interface RedactCostResult {
  cases: CaseResult[];
  pillow: { version: string; python: string } | { error: string };
}

interface CaseSpec {
  name: string;
  kind: 'raw' | 'jpeg';
  width: number;
  height: number;
  /** Face boxes as fractions of the image: x, y, width (height is 1.3 x width in pixels). */
  faces: Array<[number, number, number]>;
  /** Redacted in the frame's own buffer, as mask-blur does with video frames (a fresh copy per run, made before the clock starts). */
  inPlace?: boolean;
}

const CASES: CaseSpec[] = [
  { name: '1080p video frame (raw RGB)', kind: 'raw', width: 1920, height: 1080, faces: [[0.2, 0.3, 0.075], [0.47, 0.35, 0.08], [0.72, 0.28, 0.07]], inPlace: true },
  { name: '1080p photo (JPEG in, JPEG out)', kind: 'jpeg', width: 1920, height: 1080, faces: [[0.2, 0.3, 0.075], [0.47, 0.35, 0.08], [0.72, 0.28, 0.07]] },
  { name: '12 MP photo (JPEG in, JPEG out)', kind: 'jpeg', width: 4000, height: 3000, faces: [[0.2, 0.3, 0.08], [0.47, 0.35, 0.085], [0.72, 0.28, 0.075]] },
  { name: '12 MP photo (raw RGB, no codec)', kind: 'raw', width: 4000, height: 3000, faces: [[0.2, 0.3, 0.08], [0.47, 0.35, 0.085], [0.72, 0.28, 0.075]] },
];

/** Camera-like test content: the moving test card with grain, so that neither codec gets an easy image. */
async function testImage(dir: string, width: number, height: number): Promise<string> {
  const png = path.join(dir, `src-${width}x${height}.png`);
  if (existsSync(png)) return png;
  const r = await runFfmpeg([
    '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${width}x${height}:d=1,noise=alls=12:allf=t+u`,
    '-frames:v', '1', '-pix_fmt', 'rgb24', png,
  ]);
  if (r.code !== 0) throw new Error(`test image: ${r.stderr}`);
  return png;
}

interface Prepared {
  spec: CaseSpec;
  input: Buffer | RawFrame;
  /** The same input as a file for Pillow. */
  file: string;
  maskFile: string;
  instances: Instance[];
  radius: number;
}

async function prepare(dir: string, spec: CaseSpec): Promise<Prepared> {
  const { width, height } = spec;
  const png = await testImage(dir, width, height);
  const rgb = await sharp(png).removeAlpha().raw().toBuffer();
  let input: Buffer | RawFrame;
  const file = path.join(dir, `${spec.name.replace(/\W+/g, '-')}.${spec.kind === 'raw' ? 'rgb' : 'jpg'}`);
  if (spec.kind === 'raw') {
    input = { data: rgb, width, height, channels: 3 };
    await fs.writeFile(file, rgb);
  } else {
    const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
    input = jpeg;
    await fs.writeFile(file, jpeg);
  }
  const union = Buffer.alloc(width * height);
  const instances: Instance[] = [];
  let radius = 8;
  for (const [fx, fy, fw] of spec.faces) {
    const w = Math.round(fw * width);
    const h = Math.round(w * 1.3);
    const box: Box = [Math.round(fx * width), Math.round(fy * height), Math.round(fx * width) + w, Math.round(fy * height) + h];
    // A filled ellipse inside the box, as the model's mask of a face would roughly be.
    const mask = ellipseMask(box[0], box[1], w, h);
    for (let y = 0; y < mask.height; y++) {
      for (let x = 0; x < mask.width; x++) if (mask.data[y * mask.width + x]) union[(mask.y + y) * width + mask.x + x] = 255;
    }
    instances.push({ label: 'face', score: 0.9, box, mask: boxMaskToRle(mask, width, height) });
    // The sigma mask-blur picks for this face (grown 4 %, at least 3 px), so Pillow blurs as strongly.
    const grow = Math.max(3, 0.04 * w);
    radius = Math.max(radius, (w + 2 * grow) / 8);
  }
  const maskFile = path.join(dir, `${spec.name.replace(/\W+/g, '-')}-mask.pgm`);
  await fs.writeFile(maskFile, Buffer.concat([Buffer.from(`P5\n${width} ${height}\n255\n`), union]));
  return { spec, input, file, maskFile, instances, radius: Math.round(radius) };
}

async function timeOurs(p: Prepared, iterations: number): Promise<number[]> {
  const once = async (): Promise<number> => {
    const input = p.spec.inPlace && !Buffer.isBuffer(p.input) ? { ...p.input, data: Buffer.from(p.input.data) } : p.input;
    const t0 = performance.now();
    const r = await redactImage(input, p.instances, { mode: 'blur', inPlace: p.spec.inPlace });
    const ms = performance.now() - t0;
    if (r.summary.instances !== p.instances.length) throw new Error(`${p.spec.name}: ${r.summary.instances} instances redacted`);
    return ms;
  };
  for (let i = 0; i < 2; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) times.push(await once());
  return times;
}

export interface PillowOut {
  pillow: string;
  python: string;
  cases: Record<string, Record<string, number[]>>;
}

export async function runPillow(python: string, prepared: Prepared[], iterations: number, dir: string): Promise<PillowOut> {
  const spec = {
    cases: prepared.map((p) => ({
      name: p.spec.name, kind: p.spec.kind, input: p.file, mask: p.maskFile, width: p.spec.width, height: p.spec.height,
      radius: p.radius, iterations, warmup: 2,
    })),
  };
  const specFile = path.join(dir, 'pillow-spec.json');
  await fs.writeFile(specFile, JSON.stringify(spec));
  const script = path.resolve(__dirname, '..', '..', 'bench', 'pil_baseline.py');
  const child = spawn(python, [script, specFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${python} ${script} failed (${code}): ${err.trim().split('\n').pop() ?? ''}`);
  return JSON.parse(out) as PillowOut;
}

async function main(a: RedactCostArgs): Promise<RedactCostResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sam3-bench-redact-'));
  try {
    const prepared: Prepared[] = [];
    for (const spec of CASES) prepared.push(await prepare(dir, spec));
    // Rounds alternate the two sides, so that a slow spell of a shared
    // machine does not land on one side only; samples are pooled.
    const ours = new Map<string, number[]>(prepared.map((p) => [p.spec.name, []]));
    const pooled = new Map<string, Record<string, number[]>>();
    let pillowInfo: RedactCostResult['pillow'] = { error: 'not run' };
    const perRound = Math.max(1, Math.ceil(a.iterations / a.rounds));
    for (let r = 0; r < a.rounds; r++) {
      for (const p of prepared) ours.get(p.spec.name)?.push(...(await timeOurs(p, perRound)));
      if ('error' in pillowInfo && r > 0) continue; // Pillow failed in the first round: do not retry
      try {
        const out = await runPillow(a.python, prepared, perRound, dir);
        pillowInfo = { version: out.pillow, python: out.python };
        for (const [name, steps] of Object.entries(out.cases)) {
          const acc = pooled.get(name) ?? {};
          for (const [k, v] of Object.entries(steps)) (acc[k] ??= []).push(...v);
          pooled.set(name, acc);
        }
      } catch (err) {
        pillowInfo = { error: (err as Error).message };
      }
    }
    const cases = prepared.map((p): CaseResult => {
      const o = median(ours.get(p.spec.name) ?? []);
      const samples = pooled.get(p.spec.name);
      const steps = samples ? Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) : undefined;
      const pil = steps ? steps.total : null;
      return {
        name: p.spec.name,
        kind: p.spec.kind,
        width: p.spec.width,
        height: p.spec.height,
        oursMs: round(o, 1),
        pillowMs: pil === null ? null : round(pil, 1),
        pillowSteps: steps ? Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, round(v, 1)])) : null,
        speedup: pil === null ? null : round(pil / o, 1),
        radius: p.radius,
      };
    });
    return { cases, pillow: pillowInfo };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) childMain(main);
