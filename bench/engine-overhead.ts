/**
 * Child process: where the time of one Sam3Engine.segment() call goes, on
 * the fixture model built at the real contract size (1008 x 1008 input, 200
 * queries, 288 x 288 masks), so that every tensor the engine prepares and
 * every output it decodes has the real model's size.
 *
 * The fixture's graphs are cheap stand-ins for SAM 3's, so its inference
 * time is far below the real model's (seconds per image on a CPU): the share
 * of time outside onnxruntime measured here is an upper bound, and the
 * absolute milliseconds are what carries over to the real model.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { RawFrame } from '../src/common/types';
import { Sam3Engine, type SegmentTimings } from '../src/engine';
import { buildFixtureModel } from '../test/fixtures/fixture-model';
import { childMain } from './lib/child';
import { mean, round } from './lib/stats';

export interface EngineOverheadArgs {
  iterations: number;
}

export interface EngineCase {
  name: string;
  instances: number;
  /** Mean ms per call of each timing the engine reports, plus derived ones. */
  ms: {
    decode: number;
    preprocess: number;
    vision: number;
    text: number;
    decoder: number;
    postprocess: number;
    /** Total minus every reported step: messaging with the inference host and scheduling. */
    hostMessaging: number;
    total: number;
    /** vision + text + decoder: inside onnxruntime. */
    inOnnxruntime: number;
    outsideOnnxruntime: number;
  };
  /** outsideOnnxruntime / total. */
  outsideShare: number;
}

export interface EngineOverheadResult {
  model: { imageSize: number; queries: number; maskSize: number };
  cases: EngineCase[];
}

/**
 * A grey 1080p frame with three red "faces". The fixture's prompt "red"
 * finds them; its queries own cells of a grid, so a region that spans
 * several cells comes back as several instances (about 20 here), which
 * gives postprocessing (mask upsampling, RLE) real work.
 */
function redFrame(): RawFrame {
  const width = 1920;
  const height = 1080;
  const data = Buffer.alloc(width * height * 3, 96);
  for (const [x0, y0] of [[380, 320], [900, 380], [1380, 300]]) {
    for (let y = y0; y < y0 + 190; y++) {
      for (let x = x0; x < x0 + 150; x++) {
        const o = (y * width + x) * 3;
        data[o] = 255;
        data[o + 1] = 0;
        data[o + 2] = 0;
      }
    }
  }
  return { data, width, height, channels: 3 };
}

function summarise(name: string, runs: Array<{ timings: SegmentTimings; instances: number }>): EngineCase {
  const per = runs.map(({ timings: t }) => {
    const inOrt = t.visionMs + t.textMs + t.decoderMs;
    const steps = t.decodeMs + t.preprocessMs + inOrt + t.postprocessMs;
    return {
      decode: t.decodeMs,
      preprocess: t.preprocessMs,
      vision: t.visionMs,
      text: t.textMs,
      decoder: t.decoderMs,
      postprocess: t.postprocessMs,
      hostMessaging: Math.max(0, t.totalMs - steps),
      total: t.totalMs,
      inOnnxruntime: inOrt,
      outsideOnnxruntime: t.totalMs - inOrt,
    };
  });
  // Means, not medians: the steps then add up to the total.
  const m = (k: keyof (typeof per)[number]): number => round(mean(per.map((p) => p[k])), 1);
  return {
    name,
    instances: runs[0]?.instances ?? 0,
    ms: {
      decode: m('decode'),
      preprocess: m('preprocess'),
      vision: m('vision'),
      text: m('text'),
      decoder: m('decoder'),
      postprocess: m('postprocess'),
      hostMessaging: m('hostMessaging'),
      total: m('total'),
      inOnnxruntime: m('inOnnxruntime'),
      outsideOnnxruntime: m('outsideOnnxruntime'),
    },
    outsideShare: round(mean(per.map((p) => p.outsideOnnxruntime)) / mean(per.map((p) => p.total)), 3),
  };
}

async function main(a: EngineOverheadArgs): Promise<EngineOverheadResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sam3-bench-engine-'));
  const model = { imageSize: 1008, queries: 200, maskSize: 288 };
  await buildFixtureModel(dir, { imageSize: model.imageSize, queries: model.queries });
  const engine = await Sam3Engine.load({ modelDir: dir });
  try {
    const frame = redFrame();
    const jpeg = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
    const inputs: Array<[string, RawFrame | Buffer]> = [
      ['1080p raw frame (video-split)', frame],
      ['1080p JPEG (photo)', jpeg],
    ];
    const cases: EngineCase[] = [];
    for (const [name, input] of inputs) {
      // The first calls encode the prompt's text (then cached) and warm onnxruntime up.
      for (let i = 0; i < 2; i++) await engine.segment(input, 'red');
      const runs: Array<{ timings: SegmentTimings; instances: number }> = [];
      for (let i = 0; i < a.iterations; i++) {
        const r = await engine.segment(input, 'red');
        runs.push({ timings: r.timings, instances: r.instances.length });
      }
      cases.push(summarise(name, runs));
    }
    return { model, cases };
  } finally {
    await engine.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) childMain(main);
