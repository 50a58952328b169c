/**
 * Speed of the bundled text detector (PP-OCRv4 through the inference host),
 * on rendered documents at 640x480 and 1920x1080, and of the verification
 * pass. A child of bench/run.ts (npm run bench).
 *
 * Median milliseconds per image over `runs` after
 * one warm-up (the first run at a new input size also sizes onnxruntime's
 * buffers), split into decode + resize (main process), detector inference,
 * post-processing (DBNet maps to lines and masks), and the whole call.
 */
import sharp from 'sharp';
import { RedactionEngine, type RedactionSegmentOptions, type RedactionSegmentResult } from '../src/engine';
import { redactImage } from '../src/redact';
import { childMain } from './lib/child';

interface Case {
  name: string;
  width: number;
  height: number;
  options: RedactionSegmentOptions;
}

const CASES: Case[] = [
  { name: '640x480', width: 640, height: 480, options: {} },
  { name: '1920x1080, whole image only', width: 1920, height: 1080, options: { text: { tiles: 0 } } },
  { name: '1920x1080, auto tiles (default)', width: 1920, height: 1080, options: {} },
];

/** A page of text lines at sizes from 14 to 48 px, scaled to the frame. */
function documentSvg(width: number, height: number): string {
  const lines: string[] = [];
  const fonts = ['DejaVu Sans', 'Liberation Serif', 'DejaVu Sans Mono', 'Liberation Sans'];
  let y = 20, previous = 0;
  for (let i = 0; ; i++) {
    const size = [14, 18, 24, 32, 48][i % 5];
    y += Math.max(size, previous) * 1.4;
    previous = size;
    if (y > height - 10) break;
    lines.push(`<text x="${20 + (i % 3) * 40}" y="${y}" font-family="${fonts[i % 4]}" font-size="${size}" fill="#222">Line ${i + 1}: Jane Q. Public, 12 Baker Street, account 5512 8873</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f7f5ef"/>${lines.join('')}</svg>`;
}

export interface TextDetectArgs {
  runs: number;
}

export interface TextDetectCase {
  name: string;
  width: number;
  height: number;
  passes: number;
  lines: number;
  /** Median ms per image. */
  decodeResizeMs: number;
  detectMs: number;
  postprocessMs: number;
  totalMs: number;
  /** Median ms of the verification pass (read every line in the input and the redacted output). */
  verifyMs: number;
}

export interface TextDetectResult {
  runs: number;
  cases: TextDetectCase[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r1 = (v: number): number => Math.round(v * 10) / 10;

async function main(a: TextDetectArgs): Promise<TextDetectResult> {
  const runs = Math.max(1, a.runs);
  const engine = await RedactionEngine.load({});
  if (!engine.text) throw new Error(`text detector unavailable: ${engine.capabilities().textReason}`);
  const cases: TextDetectCase[] = [];
  try {
    for (const c of CASES) {
      const jpeg = await sharp(Buffer.from(documentSvg(c.width, c.height))).jpeg({ quality: 90 }).toBuffer();
      await engine.segment(jpeg, 'text', c.options);
      const rows: RedactionSegmentResult[] = [];
      for (let i = 0; i < runs; i++) rows.push(await engine.segment(jpeg, 'text', c.options));
      const last = rows[rows.length - 1];
      const redacted = await redactImage(jpeg, last.instances, { mode: 'blur' });
      const verify: number[] = [];
      for (let i = 0; i < Math.min(runs, 3); i++) {
        const t0 = performance.now();
        await engine.verifyRedaction(jpeg, redacted.image, last.instances);
        verify.push(performance.now() - t0);
      }
      const m = (f: (r: RedactionSegmentResult) => number): number => r1(median(rows.map(f)));
      cases.push({
        name: c.name,
        width: c.width,
        height: c.height,
        passes: last.timings.textPasses,
        lines: last.instances.length,
        decodeResizeMs: m((r) => r.timings.decodeMs + r.timings.preprocessMs),
        detectMs: m((r) => r.timings.textDetectMs),
        postprocessMs: m((r) => r.timings.postprocessMs),
        totalMs: m((r) => r.timings.totalMs),
        verifyMs: r1(median(verify)),
      });
    }
  } finally {
    await engine.close();
  }
  return { runs, cases };
}

childMain(main);
