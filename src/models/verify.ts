/**
 * Checks a model folder against the SAM 3 ONNX contract without a network
 * and without loading weights: which files a variant needs, whether each
 * graph has the contract's inputs and outputs, whether its external weights
 * are there and long enough, and whether the three graphs fit together.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CONTRACT, SAMEXPORTER_CONTRACT, SAMEXPORTER_TEXT_TO_DECODER, checkValues, fixedDim, type ValueInfo } from '../engine';
import { GRAPH_STEMS, MODEL_HELP, ModelFolderError, SAMEXPORTER_FILES, layoutOf, resolveModelFiles, variantsIn, type GraphKey, type ModelLayout } from '../engine';
import { layoutHints } from './layout-hints';
import { checkLoads } from './load-check';
import { OnnxReadError, readOnnxHeader, type OnnxHeader } from './onnx-header';
import type { FileSize, GraphReport, VerifyResult } from './report';

const SHARED_FILES = ['tokenizer.json', 'tokenizer_config.json', 'config.json'];
const CLIP_VOCAB = 49408;
const DEFAULT_IMAGE_SIZE = 1008;

export interface VerifyOptions {
  /**
   * Also create an onnxruntime session for each graph (CPU), which proves the
   * installed onnxruntime can run it but loads every weight into memory.
   */
  load?: boolean;
}

async function listFolder(dir: string): Promise<{ files: FileSize[]; subfolders: string[] }> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const files: FileSize[] = [];
  const subfolders: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const inner = await fs.readdir(p).catch(() => [] as string[]);
      if (variantsIn(inner).length > 0) subfolders.push(e.name);
      continue;
    }
    const stat = await fs.stat(p).catch(() => undefined);
    if (stat?.isFile()) files.push({ file: e.name, bytes: stat.size });
  }
  files.sort((a, b) => a.file.localeCompare(b.file));
  return { files, subfolders };
}

function graphFileName(key: GraphKey, variant: string, layout: ModelLayout): string {
  if (layout === 'samexporter') return SAMEXPORTER_FILES[key];
  return `${GRAPH_STEMS[key]}${variant ? `-${variant}` : ''}.onnx`;
}

const contractOf = (layout: ModelLayout): typeof CONTRACT => (layout === 'samexporter' ? SAMEXPORTER_CONTRACT : CONTRACT);

/** An external-data location must name a file beside the graph; onnxruntime refuses paths that leave the folder. */
function safeLocation(location: string): boolean {
  return location !== '' && !path.isAbsolute(location) && !location.split(/[\\/]/).includes('..');
}

async function checkGraph(dir: string, key: GraphKey, file: string, layout: ModelLayout, problems: string[]): Promise<{ report: GraphReport; header?: OnnxHeader }> {
  const p = path.join(dir, file);
  const report: GraphReport = { key, file, bytes: (await fs.stat(p)).size, inputs: [], outputs: [], externalData: [] };
  let header: OnnxHeader;
  try {
    header = await readOnnxHeader(p);
  } catch (err) {
    const why = err instanceof OnnxReadError ? err.message : String((err as Error).message ?? err);
    problems.push(`${file}: cannot be read as an ONNX model (it ${why}); the file is damaged or its download is incomplete`);
    return { report };
  }
  Object.assign(report, { irVersion: header.irVersion, opset: header.opset, inputs: header.inputs, outputs: header.outputs });
  problems.push(...checkValues(file, 'input', contractOf(layout)[key].inputs, header.inputs).problems);
  problems.push(...checkValues(file, 'output', contractOf(layout)[key].outputs, header.outputs).problems);
  for (const ref of header.externalData) {
    if (!safeLocation(ref.location)) {
      problems.push(`${file}: its weights are in '${ref.location}', outside the model folder; onnxruntime will not read it`);
      continue;
    }
    const stat = await fs.stat(path.join(dir, ref.location)).catch(() => undefined);
    report.externalData.push({ file: ref.location, bytes: stat?.size });
    if (!stat?.isFile()) {
      problems.push(`${file}: its weights file ${ref.location} is missing; it must sit next to the graph`);
    } else {
      report.bytes += stat.size;
      if (ref.needsBytes !== undefined && stat.size < ref.needsBytes) {
        problems.push(`${ref.location}: ${stat.size} bytes, but ${file} reads up to byte ${ref.needsBytes}; the download is incomplete`);
      }
    }
  }
  return { report, header };
}

/** The vision encoder's outputs and the text encoder's outputs must be what the decoder takes. */
function checkJoins(headers: Partial<Record<GraphKey, OnnxHeader>>, files: Record<GraphKey, string>, layout: ModelLayout, problems: string[]): void {
  // [producer, its output, the decoder's input it feeds]
  const joins: Array<[GraphKey, string, string]> = layout === 'samexporter'
    ? [
        ...['vision_pos_enc_0', 'vision_pos_enc_1', 'vision_pos_enc_2', 'backbone_fpn_0', 'backbone_fpn_1', 'backbone_fpn_2'].map((n): [GraphKey, string, string] => ['vision', n, n]),
        ...Object.entries(SAMEXPORTER_TEXT_TO_DECODER).map(([from, to]): [GraphKey, string, string] => ['text', from, to]),
      ]
    : [
        ...['fpn_feat_0', 'fpn_feat_1', 'fpn_feat_2', 'fpn_pos_2'].map((n): [GraphKey, string, string] => ['vision', n, n]),
        ...['text_features', 'text_mask'].map((n): [GraphKey, string, string] => ['text', n, n]),
      ];
  const decoder = headers.decoder;
  if (!decoder) return;
  for (const [from, outName, inName] of joins) {
    const out = headers[from]?.outputs.find((v) => v.name === outName);
    const inp = decoder.inputs.find((v) => v.name === inName);
    if (!out || !inp || out.shape.length !== inp.shape.length) continue;
    // Axis 0 is the batch (or, for samexporter's [L, 1, C] text tensors, the fixed context); only fixed sizes that disagree are a real mismatch.
    for (let axis = 1; axis < out.shape.length; axis++) {
      const a = fixedDim(out, axis);
      const b = fixedDim(inp, axis);
      if (a !== undefined && b !== undefined && a !== b) {
        problems.push(
          `${files[from]} gives ${outName} [${out.shape.join(', ')}] but ${files.decoder} takes ${inName === outName ? '' : `${inName} `}[${inp.shape.join(', ')}]: the graphs come from different exports`,
        );
        break;
      }
    }
  }
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
}

async function checkTokenizer(dir: string, problems: string[], warnings: string[]): Promise<void> {
  let json: unknown;
  try {
    json = await readJson(path.join(dir, 'tokenizer.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // already reported as missing
    problems.push(`tokenizer.json cannot be read as JSON (${(err as Error).message})`);
    return;
  }
  const model = (json as { model?: { vocab?: unknown } } | null)?.model;
  if (typeof model !== 'object' || model === null) {
    problems.push('tokenizer.json is not in the Hugging Face tokenizers format (it has no "model")');
    return;
  }
  const vocab = model.vocab;
  const size = vocab && typeof vocab === 'object' ? Object.keys(vocab).length : 0;
  if (size > 0 && size !== CLIP_VOCAB) warnings.push(`tokenizer.json has ${size} tokens; the CLIP tokenizer SAM 3 uses has ${CLIP_VOCAB}`);
}

async function imageSizeFromConfig(dir: string, warnings: string[]): Promise<number | undefined> {
  let config: unknown;
  try {
    config = await readJson(path.join(dir, 'config.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`config.json cannot be read as JSON; the engine ignores it`);
    return undefined;
  }
  const c = config as { image_size?: unknown; vision_config?: { image_size?: unknown } } | null;
  const size = c?.image_size ?? c?.vision_config?.image_size;
  return typeof size === 'number' && size > 0 ? size : undefined;
}

function imageInput(header: OnnxHeader | undefined, layout: ModelLayout): ValueInfo | undefined {
  return header?.inputs.find((v) => contractOf(layout).vision.inputs[0].names.includes(v.name));
}

/** Checks `dir` for `variant` (blank: the variant the engine would pick) and says everything that is wrong. */
export async function verifyModelFolder(dir: string, variant?: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const abs = path.resolve(dir);
  const result: VerifyResult = {
    ok: false,
    dir: abs,
    variants: [],
    problems: [],
    warnings: [],
    graphs: [],
    sizes: { variant: 0, shared: 0, folder: 0, files: [] },
  };
  const strip = (msg: string): string => msg.replace(` ${MODEL_HELP}`, '').trim();
  let listing: { files: FileSize[]; subfolders: string[] };
  try {
    listing = await listFolder(abs);
  } catch {
    // resolveModelFiles words the "does not exist / not a folder" message the engine itself gives.
    await resolveModelFiles(abs, variant).catch((err: Error) => result.problems.push(strip(err.message)));
    return result;
  }
  const names = listing.files.map((f) => f.file);
  result.sizes.files = listing.files;
  result.sizes.folder = listing.files.reduce((n, f) => n + f.bytes, 0);
  const layout = layoutOf(names) ?? 'usls';
  if (layoutOf(names)) result.layout = layout;
  // samexporter's folders hold one set of graphs: one (unsuffixed) variant.
  result.variants = layout === 'samexporter' ? [''] : variantsIn(names);
  const chosen = layout === 'samexporter' ? '' : (variant ?? '').replace(/^-/, '').trim() || result.variants[0] || '';
  result.variant = chosen;

  try {
    await resolveModelFiles(abs, variant);
  } catch (err) {
    if (!(err instanceof ModelFolderError)) throw err;
    result.problems.push(strip(err.message));
    if (chosen === 'fp32' && result.variants.includes('')) result.problems.push("leave the variant blank to use the unsuffixed fp32 files");
    if (result.variants.length === 0) result.problems.push(...layoutHints(names, listing.subfolders));
  }

  const files = {} as Record<GraphKey, string>;
  const headers: Partial<Record<GraphKey, OnnxHeader>> = {};
  for (const key of Object.keys(GRAPH_STEMS) as GraphKey[]) {
    files[key] = graphFileName(key, chosen, layout);
    if (!names.includes(files[key])) continue;
    const { report, header } = await checkGraph(abs, key, files[key], layout, result.problems);
    result.graphs.push(report);
    if (header) headers[key] = header;
  }
  checkJoins(headers, files, layout, result.problems);
  await checkTokenizer(abs, result.problems, result.warnings);

  const image = imageInput(headers.vision, layout);
  // [N, 3, S, S] in the usls layout, [3, S, S] in samexporter's.
  const fromGraph = layout === 'samexporter' ? fixedDim(image, 2) ?? fixedDim(image, 1) : fixedDim(image, 3) ?? fixedDim(image, 2);
  const fromConfig = fromGraph === undefined ? await imageSizeFromConfig(abs, result.warnings) : undefined;
  if (fromGraph !== undefined) Object.assign(result, { imageSize: fromGraph, imageSizeFrom: 'graph' });
  else if (fromConfig !== undefined) Object.assign(result, { imageSize: fromConfig, imageSizeFrom: 'config.json' });
  else if (headers.vision) {
    Object.assign(result, { imageSize: DEFAULT_IMAGE_SIZE, imageSizeFrom: 'default' });
    result.warnings.push(`the image size is not fixed in ${files.vision} nor given in config.json; the engine assumes ${DEFAULT_IMAGE_SIZE}`);
  }

  const leftovers = names.filter((n) => n.endsWith('.partial'));
  if (leftovers.length > 0) result.warnings.push(`unfinished download files in the folder: ${leftovers.join(', ')}`);

  result.sizes.variant = result.graphs.reduce((n, g) => n + g.bytes, 0);
  result.sizes.shared = listing.files.filter((f) => SHARED_FILES.includes(f.file)).reduce((n, f) => n + f.bytes, 0);

  if (options.load && result.problems.length === 0) {
    result.problems.push(...(await checkLoads(Object.fromEntries(result.graphs.map((g) => [g.key, path.join(abs, g.file)])) as Record<GraphKey, string>)));
  }
  result.ok = result.problems.length === 0;
  return result;
}
