/**
 * Finds the graph files of a SAM 3 model folder (the 3-file split of the
 * contract) for a precision variant, and fingerprints them so an audit trail
 * can say which model produced a detection.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const GRAPH_STEMS = {
  vision: 'vision-encoder',
  text: 'text-encoder',
  decoder: 'geo-encoder-mask-decoder',
} as const;
export type GraphKey = keyof typeof GRAPH_STEMS;

/**
 * The two SAM 3 ONNX layouts the engine runs: usls' 3-file split
 * (docs/sam3-onnx-contract.md, in precision variants) and samexporter's
 * (AnyLabeling; docs/samexporter-layout.md, one precision, no tokenizer).
 */
export type ModelLayout = 'usls' | 'samexporter';

/** samexporter's file names; its folders have no variants. */
export const SAMEXPORTER_FILES: Record<GraphKey, string> = {
  vision: 'sam3_image_encoder.onnx',
  text: 'sam3_language_encoder.onnx',
  decoder: 'sam3_decoder.onnx',
};

/** The layout of a folder from its file names: usls when one of its variants is complete, else samexporter when its three graphs are there. */
export function layoutOf(names: string[]): ModelLayout | undefined {
  if (variantsIn(names).length > 0) return 'usls';
  return Object.values(SAMEXPORTER_FILES).every((f) => names.includes(f)) ? 'samexporter' : undefined;
}

/** What a folder of either layout must hold, for messages. */
export const LAYOUTS_EXPECTED =
  'expected either the usls layout (vision-encoder.onnx, text-encoder.onnx, geo-encoder-mask-decoder.onnx, each optionally with a -variant suffix, and tokenizer.json) ' +
  "or samexporter's (sam3_image_encoder.onnx, sam3_language_encoder.onnx, sam3_decoder.onnx, with a CLIP tokenizer.json placed beside them)";

/** samexporter ships no tokenizer: where a user gets the one its text encoder was trained with. */
export const SAMEXPORTER_TOKENIZER_HELP =
  "samexporter's export ships no tokenizer.json: place CLIP's (openai/clip-vit-base-patch32 on Hugging Face, or the one in any usls SAM 3 folder) beside the graphs";

export const MODEL_HELP = 'See models/README.md in @sam3-redact/node-red-sam3-redact for how to get a SAM 3 model.';

export interface ModelFiles {
  dir: string;
  layout: ModelLayout;
  /** '' for the plain fp32 files, else the suffix after the dash ('fp16', 'q4f16', ...). */
  variant: string;
  graphs: Record<GraphKey, string>;
  tokenizer: string;
  tokenizerConfig?: string;
  config?: string;
}

export type ModelFolderCode = 'MODEL_FOLDER_MISSING' | 'MODEL_FOLDER_INCOMPLETE' | 'MODEL_FOLDER_UNREADABLE' | 'MODEL_FOLDER_INVALID';

export class ModelFolderError extends Error {
  constructor(
    message: string,
    /** MISSING: no such folder; INCOMPLETE: files missing; UNREADABLE: not a folder, or it cannot be read; INVALID: a graph that does not load. */
    readonly code: ModelFolderCode = 'MODEL_FOLDER_UNREADABLE',
  ) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

function graphFile(key: GraphKey, variant: string): string {
  return `${GRAPH_STEMS[key]}${variant ? `-${variant}` : ''}.onnx`;
}

/** Variants for which all three graphs are present, plain fp32 first. */
export function variantsIn(names: string[]): string[] {
  const found = new Map<string, number>();
  for (const name of names) {
    for (const stem of Object.values(GRAPH_STEMS)) {
      const m = new RegExp(`^${stem}(?:-([A-Za-z0-9_]+))?\\.onnx$`).exec(name);
      if (m) found.set(m[1] ?? '', (found.get(m[1] ?? '') ?? 0) + 1);
    }
  }
  const complete = [...found].filter(([, n]) => n === 3).map(([v]) => v);
  const order = (v: string): number => (v === '' ? 0 : v === 'fp16' ? 1 : 2);
  return complete.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
}

/** What a model runs on, for the default variant: a CPU, or a GPU execution provider. */
export type Device = 'cpu' | 'gpu';

export function deviceOf(executionProviders: readonly string[] | undefined): Device {
  return (executionProviders ?? []).some((p) => p.toLowerCase() !== 'cpu') ? 'gpu' : 'cpu';
}

/**
 * The variant used when none is named, by `fetch` and by the sam3-model node
 * alike: on a CPU the 8-bit quantised one ('q8') when all three of its graphs
 * are there (about a quarter of fp32's size and memory, and faster on a CPU),
 * else fp32; on a GPU fp16. Otherwise the first complete one.
 */
export function preferredVariant(complete: readonly string[], device: Device = 'cpu'): string | undefined {
  const order = device === 'gpu' ? ['fp16', ''] : ['q8', ''];
  return order.find((v) => complete.includes(v)) ?? complete[0];
}

/**
 * Resolves the files of `variant` in `dir` (or, when none is asked for, the
 * preferred complete variant for `device`) and fails with one message naming
 * everything missing.
 */
export async function resolveModelFiles(dir: string, variant?: string, device: Device = 'cpu'): Promise<ModelFiles> {
  const abs = path.resolve(dir);
  let names: string[];
  try {
    names = await fs.readdir(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder' : `cannot be read (${code ?? String(err)})`;
    throw new ModelFolderError(`SAM 3 model folder ${abs} ${why}. ${MODEL_HELP}`, code === 'ENOENT' ? 'MODEL_FOLDER_MISSING' : 'MODEL_FOLDER_UNREADABLE');
  }
  const complete = variantsIn(names);
  let wanted = (variant ?? '').replace(/^-/, '').trim();
  if (layoutOf(names) === 'samexporter') return samexporterFiles(abs, names, wanted);
  // 'fp32' is what people call the unsuffixed files, unless the folder really has '-fp32' ones.
  if (wanted.toLowerCase() === 'fp32' && !names.some((n) => /-fp32\.onnx$/.test(n))) wanted = '';
  const chosen = wanted || (preferredVariant(complete, device) ?? '');
  const missing: string[] = [];
  const graphs = {} as Record<GraphKey, string>;
  for (const key of Object.keys(GRAPH_STEMS) as GraphKey[]) {
    const file = graphFile(key, chosen);
    if (!names.includes(file) || !(await isFile(path.join(abs, file)))) missing.push(file);
    graphs[key] = path.join(abs, file);
  }
  if (!names.includes('tokenizer.json')) missing.push('tokenizer.json');
  if (missing.length > 0) {
    const others = complete.filter((v) => v !== chosen).map((v) => v || 'fp32 (no suffix)');
    const hint = others.length > 0 ? ` Complete variants in this folder: ${others.join(', ')}.` : '';
    // Nothing of the usls layout there at all: say what is there and what either layout needs.
    const noGraphs = complete.length === 0 && !Object.values(GRAPH_STEMS).some((stem) => names.some((n) => n.startsWith(stem) && n.endsWith('.onnx')));
    const there = noGraphs ? ` It has: ${names.length ? names.slice(0, 12).join(', ') + (names.length > 12 ? ', ...' : '') : 'nothing'}; ${LAYOUTS_EXPECTED}.` : '';
    throw new ModelFolderError(
      `SAM 3 model folder ${abs} is incomplete${chosen ? ` for variant '${chosen}'` : ''}: missing ${missing.join(', ')}.${hint}${there} ${MODEL_HELP}`,
      'MODEL_FOLDER_INCOMPLETE',
    );
  }
  const optional = async (name: string): Promise<string | undefined> =>
    names.includes(name) && (await isFile(path.join(abs, name))) ? path.join(abs, name) : undefined;
  return {
    dir: abs,
    layout: 'usls',
    variant: chosen,
    graphs,
    tokenizer: path.join(abs, 'tokenizer.json'),
    tokenizerConfig: await optional('tokenizer_config.json'),
    config: await optional('config.json'),
  };
}

/** A samexporter folder: its three graphs (weights in .data files beside them) and a tokenizer.json the user placed there. */
async function samexporterFiles(abs: string, names: string[], wanted: string): Promise<ModelFiles> {
  if (wanted && wanted.toLowerCase() !== 'fp32') {
    throw new ModelFolderError(`SAM 3 model folder ${abs} holds samexporter's export, which has no variant '${wanted}': leave the variant blank. ${MODEL_HELP}`, 'MODEL_FOLDER_INCOMPLETE');
  }
  if (!names.includes('tokenizer.json') || !(await isFile(path.join(abs, 'tokenizer.json')))) {
    throw new ModelFolderError(`SAM 3 model folder ${abs} (samexporter's layout) is incomplete: missing tokenizer.json. ${SAMEXPORTER_TOKENIZER_HELP}. ${MODEL_HELP}`, 'MODEL_FOLDER_INCOMPLETE');
  }
  const graphs = Object.fromEntries(Object.entries(SAMEXPORTER_FILES).map(([k, f]) => [k, path.join(abs, f)])) as Record<GraphKey, string>;
  return { dir: abs, layout: 'samexporter', variant: '', graphs, tokenizer: path.join(abs, 'tokenizer.json') };
}

const SAMPLE = 4 * 1024 * 1024;

/**
 * A cheap identity for the graphs: size plus the first and last 4 MiB of each
 * graph and its external-data file. Hashing 3 GB in full would take seconds
 * at every load; two exports that differ only in the middle of a weight file
 * are not a realistic case.
 */
export async function fingerprintModel(files: ModelFiles): Promise<string> {
  const hash = createHash('sha256');
  for (const key of Object.keys(GRAPH_STEMS) as GraphKey[]) {
    const graph = files.graphs[key];
    for (const p of [graph, `${graph}.data`, `${graph}_data`]) {
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(p, 'r');
      } catch {
        continue;
      }
      try {
        const { size } = await handle.stat();
        hash.update(`${path.basename(p)}:${size}:`);
        const head = Buffer.alloc(Math.min(SAMPLE, size));
        await handle.read(head, 0, head.length, 0);
        hash.update(head);
        if (size > SAMPLE) {
          const tail = Buffer.alloc(Math.min(SAMPLE, size - SAMPLE));
          await handle.read(tail, 0, tail.length, size - tail.length);
          hash.update(tail);
        }
      } finally {
        await handle.close();
      }
    }
  }
  return `sha256:${hash.digest('hex').slice(0, 32)}`;
}
