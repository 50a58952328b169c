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

export const MODEL_HELP = 'See models/README.md in @sam3-redact/node-red-sam3-redact for how to get a SAM 3 model.';

export interface ModelFiles {
  dir: string;
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
    throw new ModelFolderError(
      `SAM 3 model folder ${abs} is incomplete${chosen ? ` for variant '${chosen}'` : ''}: missing ${missing.join(', ')}.${hint} ${MODEL_HELP}`,
      'MODEL_FOLDER_INCOMPLETE',
    );
  }
  const optional = async (name: string): Promise<string | undefined> =>
    names.includes(name) && (await isFile(path.join(abs, name))) ? path.join(abs, name) : undefined;
  return {
    dir: abs,
    variant: chosen,
    graphs,
    tokenizer: path.join(abs, 'tokenizer.json'),
    tokenizerConfig: await optional('tokenizer_config.json'),
    config: await optional('config.json'),
  };
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
