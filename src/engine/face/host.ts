/**
 * The face detector's side of the inference host: loads the model and
 * answers detect jobs (passes of one image) with one instance per face and
 * prompt, holding back faces only tiles found for the confirm job (passes
 * framed around them). Runs in the host process only (see
 * host/host-process.ts).
 */
import * as ort from 'onnxruntime-node';
import { CodedError } from '../../common/coded-error';
import type { HostSide } from '../host/protocol';
import type { Instance } from '../../common/types';
import { toInstances, type RawInstance } from '../instances';
import { openDetector, inputShape, PlanarTensors, runPasses, type PassTimings } from '../host/detector-session';
import { iou } from '../../common/boxes';
import { candidates, faceEllipse, FACE_OVERLAP, oneBoxPerFace, type FaceCandidate } from './boxes';
import type { ConfirmJob, FaceBox, FaceJob, FaceLevel, FaceLoadSpec, FaceModelInfo, FacePass, FaceReply } from './protocol';
import { TileMemories, tileSignature, type TileMemory } from './tile-memory';

interface TaggedCandidate extends FaceCandidate {
  /** Found by a tile, not by the whole image's pass. */
  tile: boolean;
}

let session: ort.InferenceSession | undefined;
let info: FaceModelInfo | undefined;
const memories = new TileMemories<TaggedCandidate>();

async function release(): Promise<void> {
  const old = session;
  session = undefined;
  // Faces found by another model are not this one's.
  memories.clear();
  await old?.release();
}

async function load(spec: FaceLoadSpec): Promise<FaceModelInfo> {
  await release();
  const s = await openDetector(spec);
  const [, channels, h, w] = inputShape(s);
  if (s.inputNames[0] !== 'input' || channels !== 3 || typeof h !== 'number' || typeof w !== 'number' || !s.outputNames.includes('scores') || !s.outputNames.includes('boxes')) {
    await s.release();
    throw new CodedError('MODEL_CONTRACT_MISMATCH', `${spec.model} is not an UltraFace-style detector (input "input" [1, 3, H, W], outputs "scores" and "boxes")`);
  }
  session = s;
  info = { inputWidth: w, inputHeight: h, executionProviders: spec.executionProviders };
  return info;
}

/** As the model was trained: RGB, (x - 127) / 128. */
const MEAN = [127, 127, 127];
const STD = [128, 128, 128];

/** The level a tile is read from, checked to hold the whole tile. */
function levelOf(from: NonNullable<FacePass['from']>, levels: readonly FaceLevel[], width: number, height: number): FaceLevel {
  const { level: f, x, y } = from;
  const level = levels.find((l) => l.level === f);
  if (!level) throw new CodedError('FACE_PASS_INVALID', 'a face pass carries no pixels and names no level of the job');
  if (x < 0 || y < 0 || x + width > level.width || (y + height) * level.width * 3 > level.rgb.length) {
    throw new CodedError('FACE_PASS_INVALID', `a face pass at (${x}, ${y}) lies outside its level (${level.width} px wide)`);
  }
  return level;
}

/** A pass's tensor: from its own pixels, or read straight out of the level it lies on. */
function passTensor(tensors: PlanarTensors, pass: FacePass, levels: readonly FaceLevel[], reuse: boolean): ReturnType<PlanarTensors['tensor']> {
  if (pass.rgb) {
    if (pass.rgb.length !== tensors.width * tensors.height * 3) throw new CodedError('FACE_PASS_INVALID', `a face pass of ${pass.rgb.length} bytes is not ${tensors.width} x ${tensors.height} RGB`);
    return tensors.tensor(pass.rgb, tensors.width, 0, 0, reuse);
  }
  if (!pass.from) throw new CodedError('FACE_PASS_INVALID', 'a face pass carries no pixels and names no level of the job');
  const level = levelOf(pass.from, levels, tensors.width, tensors.height);
  return tensors.tensor(level.rgb, level.width, pass.from.x, pass.from.y, reuse);
}

function runFacePasses(passes: FacePass[], levels: FaceLevel[] = [], ran?: (pass: FacePass, found: TaggedCandidate[]) => void): ReturnType<typeof runPasses<FacePass, TaggedCandidate>> {
  if (!session || !info) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no face model loaded');
  const tensors = new PlanarTensors(info.inputWidth, info.inputHeight, MEAN, STD, 'rgb');
  return runPasses(
    session,
    passes,
    (pass, index) => ({ input: passTensor(tensors, pass, levels, index > 0) }),
    (out, pass) => {
      const found = candidates(out.scores.data as Float32Array, out.boxes.data as Float32Array, pass.region, pass.threshold, pass.inner).map((c) => ({ ...c, tile: pass.inner !== undefined }));
      ran?.(pass, found);
      return found;
    },
  );
}

/**
 * A video's tiled pass: the tiles whose pixels look as they did when they
 * last ran keep what they found then; the rest run, and are remembered.
 */
async function runRemembering(job: FaceJob, memory: TileMemory<TaggedCandidate>): Promise<{ found: TaggedCandidate[]; timings: PassTimings; kept: number }> {
  if (!info) throw new CodedError('MODEL_NOT_LOADED', 'inference host has no face model loaded');
  const { inputWidth, inputHeight } = info;
  const t0 = performance.now();
  const kept: TaggedCandidate[] = [];
  const toRun: FacePass[] = [];
  const signatures = new Map<FacePass, { tile: string; signature: Uint8Array }>();
  let keptTiles = 0;
  for (const pass of job.passes) {
    if (pass.rgb || !pass.from) {
      toRun.push(pass);
      continue;
    }
    const level = levelOf(pass.from, job.levels ?? [], inputWidth, inputHeight);
    // A tile is known by where it lies and the score it asks (prompts' thresholds can differ between calls).
    const tile = `${pass.from.level}:${pass.from.x}:${pass.from.y}:${pass.threshold}`;
    const signature = tileSignature(level.rgb, level.width, pass.from.x, pass.from.y, inputWidth, inputHeight);
    const recalled = memory.recall(tile, signature);
    if (recalled) {
      kept.push(...recalled);
      keptTiles++;
      continue;
    }
    signatures.set(pass, { tile, signature });
    toRun.push(pass);
  }
  const signMs = performance.now() - t0;
  const { found, timings } = await runFacePasses(toRun, job.levels, (pass, candidates) => {
    const s = signatures.get(pass);
    if (s) memory.remember(s.tile, s.signature, candidates);
  });
  return { found: [...found, ...kept], timings: { ...timings, preprocessMs: timings.preprocessMs + signMs }, kept: keptTiles };
}

/** Each face as an instance per prompt whose threshold it meets: its ellipse, grown. */
function faceInstances(faces: FaceBox[], job: { width: number; height: number; grow: number; prompts: FaceJob['prompts'] }): Instance[] {
  const raw: RawInstance[] = [];
  for (const face of faces) {
    const shape = faceEllipse(face.box, job.grow, job.width, job.height);
    if (!shape) continue;
    for (const p of job.prompts) if (face.score >= p.threshold) raw.push({ label: p.label, score: face.score, box: shape.box, mask: shape.mask, source: 0 });
  }
  return toInstances(raw, job.width, job.height);
}

const timingsOf = (t: PassTimings, postMs: number): FaceReply['timings'] => ({ preprocessMs: t.preprocessMs, faceMs: t.inferMs, facePasses: t.passes, postprocessMs: t.postprocessMs + postMs });

async function detect(job: FaceJob): Promise<FaceReply> {
  const memory = job.tileMemory ? memories.get(job.tileMemory, job.width, job.height) : undefined;
  const { found, timings, kept } = memory ? await runRemembering(job, memory) : { ...(await runFacePasses(job.passes, job.levels)), kept: 0 };
  const t0 = performance.now();
  const faces = oneBoxPerFace(found);
  // A face the whole image's pass saw too (any pass without inner edges) needs no second look.
  const tileOnly = (f: FaceBox): boolean => !found.some((c) => !c.tile && iou(c.box, f.box) >= FACE_OVERLAP);
  const held = job.confirmTiles ? faces.filter(tileOnly) : [];
  // A face whose exact box a second look confirmed lately (its tiles kept their faces) stays confirmed.
  const settled = new Set(memory ? held.filter((f) => memory.wasConfirmed(f.box)) : []);
  const ask = held.filter((f) => !settled.has(f));
  const instances = faceInstances(faces.filter((f) => !held.includes(f) || settled.has(f)), job);
  return {
    instances,
    ...(ask.length ? { unconfirmed: ask.map((f) => ({ box: f.box, score: f.score })) } : {}),
    timings: { ...timingsOf(timings, performance.now() - t0), ...(job.tileMemory ? { faceTilesKept: kept } : {}) },
  };
}

/** A face is confirmed when any of the passes framed around it finds a face on it; it keeps the score its tile gave it. */
async function confirm(job: ConfirmJob): Promise<FaceReply> {
  const { found, timings } = await runFacePasses(job.passes);
  const t0 = performance.now();
  const confirmed = job.faces.filter((f) => found.some((c) => iou(c.box, f.box) >= FACE_OVERLAP));
  if (job.tileMemory) {
    const memory = memories.get(job.tileMemory, job.width, job.height);
    for (const f of confirmed) memory.confirm(f.box);
  }
  return { instances: faceInstances(confirmed, job), timings: timingsOf(timings, performance.now() - t0) };
}

export const hostSide: HostSide = {
  load: (spec) => load(spec as FaceLoadSpec),
  ops: { detect, confirm },
  release,
};
