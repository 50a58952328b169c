/**
 * The text models' side of the inference host: detection passes -> text-line
 * instances, and line crops -> readings. Runs in the host process only (see
 * host/host-process.ts), beside the other backends' host sides.
 */
import type { Box } from '../../common/types';
import { toInstances, type RawInstance } from '../instances';
import { dbLines, type TextLine } from './db-postprocess';
import { fillConvex, minAreaRect, rectCorners, type Point } from './geometry';
import { joinLines } from './line-join';
import { cropLine } from './rec-crop';
import type {
  TextDetectJob, TextDetectReply, TextLoadSpec, TextModelInfo, TextPass, TextReadJob, TextReadReply, TurnedReading,
} from './protocol';
import type { HostSide } from '../host/protocol';
import { TextSessions } from './sessions';
import { CodedError } from '../../common/coded-error';

let models: TextSessions | undefined;

async function release(): Promise<void> {
  const old = models;
  models = undefined;
  await old?.release();
}

function loaded(): TextSessions {
  if (!models) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no text model loaded');
  return models;
}

async function loadTextModels(spec: TextLoadSpec): Promise<TextModelInfo> {
  await release();
  models = await TextSessions.load(spec);
  return models.info;
}

/**
 * A line of a pass in whole-image pixels. The pass may be stretched a little
 * to reach multiples of 32, so corners map separately in x and y and the
 * line is re-fitted (a rectangle may have become a slight parallelogram).
 */
function inImage(line: TextLine, pass: TextPass): TextLine {
  const sx = pass.region.width / pass.width, sy = pass.region.height / pass.height;
  const corners: Point[] = rectCorners(line.rect).map(([x, y]) => [pass.region.x + x * sx, pass.region.y + y * sy]);
  return { rect: minAreaRect(corners), score: line.score };
}

async function detectText(job: TextDetectJob): Promise<TextDetectReply> {
  const sessions = loaded();
  const timings = { preprocessMs: 0, detectMs: 0, postprocessMs: 0, passes: 0 };
  const minScore = Math.min(...job.prompts.map((p) => p.threshold));
  let lines: TextLine[] = [];
  for (const pass of job.passes) {
    let t0 = performance.now();
    const input = sessions.detectorTensor(pass.rgb, pass.width, pass.height);
    timings.preprocessMs += performance.now() - t0;
    t0 = performance.now();
    const prob = await sessions.detect(input);
    timings.detectMs += performance.now() - t0;
    timings.passes++;
    t0 = performance.now();
    lines.push(...joinLines(dbLines(prob, pass.width, pass.height, job.params, minScore)).map((l) => inImage(l, pass)));
    timings.postprocessMs += performance.now() - t0;
  }
  const t0 = performance.now();
  // Tiles and the whole image see the same line (or pieces of it, cut by a
  // tile border): joined as lines, not as overlapping masks, so that two
  // neighbouring lines never become one instance.
  if (job.passes.length > 1) lines = joinLines(lines);
  const raw: RawInstance[] = [];
  // The lines are found once; every text prompt labels them, filtered by its own threshold.
  for (const line of lines) {
    const mask = fillConvex(rectCorners(line.rect), job.width, job.height);
    if (!mask) continue;
    const box: Box = [mask.x, mask.y, mask.x + mask.width, mask.y + mask.height];
    for (const prompt of job.prompts) {
      if (line.score >= prompt.threshold) raw.push({ label: prompt.label, score: line.score, box, mask, source: 0 });
    }
  }
  const instances = toInstances(raw, job.width, job.height);
  timings.postprocessMs += performance.now() - t0;
  return { instances, timings };
}

const SURE = 0.9;

async function readText(job: TextReadJob): Promise<TextReadReply> {
  const sessions = loaded();
  const t0 = performance.now();
  const { rgb, width, height } = job.image;
  const sureAt = job.sureAt ?? SURE;
  const readings: TurnedReading[] = [];
  for (const c of job.crops) {
    let best: TurnedReading = { text: '', confidence: 0, turn: c.turns[0] ?? 0 };
    for (const turn of c.turns) {
      const reading = await sessions.read(cropLine(rgb, width, height, c.rect, turn, sessions.info.recognizerHeight));
      if (reading.confidence > best.confidence) best = { ...reading, turn };
      // Most lines read upright at the first try: the other directions are for rotated text.
      if (best.confidence >= sureAt) break;
    }
    readings.push(best);
  }
  return { readings, ms: performance.now() - t0 };
}

export const hostSide: HostSide = {
  load: (spec) => loadTextModels(spec as TextLoadSpec),
  ops: { detect: detectText, read: readText },
  release,
};
