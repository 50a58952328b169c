/**
 * Child process: a 12 MP photo with faces, stage by stage, as the nodes run
 * it: sam3-segment's detection (decode, the face detector's whole-image pass
 * and its tile levels) and mask-blur's redaction (decode, blur, encode JPEG
 * q90), beside Pillow blurring the same boxes (the tutorial's way: blur the
 * whole image, paste through the mask, same JPEG settings).
 *
 * The photo: four of the labelled registry group photos (test/fixtures/faces)
 * in a 2 x 2 grid of 2000 x 1500 cells, 4000 x 3000 in all, with 15 labelled faces.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { rleToBoxMask } from '../src/common/rle';
import { RedactionEngine } from '../src/engine';
import { redactImage } from '../src/redact';
import { LABELS } from '../test/fixtures/faces/labelled';
import { npmFile } from '../test/helpers/registry-media';
import { childMain } from './lib/child';
import { median, round } from './lib/stats';
import { runPillow } from './redact-cost';

export interface FacePhotoArgs {
  runs: number;
  python: string;
}

export interface FacePhotoResult {
  width: number;
  height: number;
  /** Faces hand-labelled in the four photos. */
  labelled: number;
  /** Covers found (duplicates and partial faces at the cells' edges included). */
  faces: number;
  /** Median ms: the detection call (its decode, and the face detector's passes). */
  detect: { totalMs: number; decodeMs: number; faceMs: number; passes: number };
  /** The same detection with sam3-segment's *smallest face* raised: median ms, passes and covers found. */
  smallest?: Array<{ smallestFace: number; totalMs: number; passes: number; faces: number }>;
  /** Median ms: redactImage on the JPEG with the detections (decode, blur, encode). */
  redactMs: number;
  /** Pillow on the same boxes: median ms per step, or why it could not run. */
  pillow: Record<string, number> | { error: string };
}

async function main(a: FacePhotoArgs): Promise<FacePhotoResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sam3-bench-face-photo-'));
  const engine = await RedactionEngine.load({ textModels: false });
  try {
    const photos = ['sample1', 'sample3', 'sample5', 'sample6'].map((name) => {
      const p = LABELS.photos.find((x) => x.name === name);
      if (!p) throw new Error(`${name} is not labelled`);
      return p;
    });
    const cells = photos.map((p) => npmFile(LABELS.sources[p.source].npm as string, p.file, p.sha256));
    const tiles = await Promise.all(cells.map((f) => sharp(f).resize(2000, 1500, { fit: 'cover' }).toBuffer()));
    const jpeg = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080' } })
      .composite(tiles.map((input, i) => ({ input, left: (i % 2) * 2000, top: Math.floor(i / 2) * 1500 })))
      .jpeg({ quality: 92 })
      .toBuffer();
    const detect: FacePhotoResult['detect'][] = [];
    const redact: number[] = [];
    let instances: Awaited<ReturnType<RedactionEngine['segment']>>['instances'] = [];
    for (let i = 0; i <= a.runs; i++) {
      const r = await engine.segment(jpeg, 'face');
      const t0 = performance.now();
      await redactImage(jpeg, r.instances, { mode: 'blur' });
      const redactMs = performance.now() - t0;
      // The first run warms up both sides.
      if (i === 0) continue;
      instances = r.instances;
      detect.push({ totalMs: r.timings.totalMs, decodeMs: r.timings.decodeMs, faceMs: r.timings.faceMs ?? 0, passes: r.timings.facePasses ?? 0 });
      redact.push(redactMs);
    }
    const smallest: NonNullable<FacePhotoResult['smallest']> = [];
    for (const minFace of [24, 48]) {
      const runs: Array<{ totalMs: number; passes: number; faces: number }> = [];
      for (let i = 0; i < a.runs; i++) {
        const r = await engine.segment(jpeg, 'face', { face: { minFace } });
        runs.push({ totalMs: r.timings.totalMs, passes: r.timings.facePasses ?? 0, faces: r.instances.length });
      }
      smallest.push({ smallestFace: minFace, totalMs: round(median(runs.map((x) => x.totalMs)), 1), passes: runs[0].passes, faces: runs[0].faces });
    }
    // Pillow on the same masks, as strong a blur as mask-blur picks for the largest face.
    const union = Buffer.alloc(4000 * 3000);
    let radius = 8;
    for (const inst of instances) {
      const m = rleToBoxMask(inst.mask);
      if (!m) continue;
      for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (m.data[y * m.width + x]) union[(m.y + y) * 4000 + m.x + x] = 255;
      radius = Math.max(radius, Math.min(inst.box[2] - inst.box[0], inst.box[3] - inst.box[1]) / 8);
    }
    const file = path.join(dir, 'photo.jpg');
    const maskFile = path.join(dir, 'mask.pgm');
    await fs.writeFile(file, jpeg);
    await fs.writeFile(maskFile, Buffer.concat([Buffer.from('P5\n4000 3000\n255\n'), union]));
    let pillow: FacePhotoResult['pillow'];
    try {
      const out = await runPillow(a.python, [{ spec: { name: '12mp', kind: 'jpeg', width: 4000, height: 3000, faces: [] }, input: jpeg, file, maskFile, instances, radius: Math.round(radius) }], a.runs, dir);
      pillow = Object.fromEntries(Object.entries(out.cases['12mp']).map(([k, v]) => [k, round(median(v), 1)]));
    } catch (err) {
      pillow = { error: (err as Error).message };
    }
    const pick = (k: keyof FacePhotoResult['detect']): number => round(median(detect.map((d) => d[k])), 1);
    return {
      width: 4000,
      height: 3000,
      labelled: photos.reduce((n, p) => n + p.faces.length, 0),
      faces: instances.length,
      detect: { totalMs: pick('totalMs'), decodeMs: pick('decodeMs'), faceMs: pick('faceMs'), passes: pick('passes') },
      smallest,
      redactMs: round(median(redact), 1),
      pillow,
    };
  } finally {
    await engine.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) childMain(main);
