/**
 * Picks, from what a source lists, only the files one variant needs: its three
 * graphs (with their external-data files), tokenizer.json, the optional
 * configs, and the licence that must travel with the weights. A repo that
 * offers four precisions is 8 GB; a user wants one of them.
 */
import * as path from 'node:path';
import { GRAPH_STEMS, preferredVariant, variantsIn, type Device } from '../engine';
import { layoutHints } from './layout-hints';
import { FetchError, type ListedFile } from './source';
import { variantLabel } from './report';

const OPTIONAL = ['tokenizer_config.json', 'config.json', 'LICENSE', 'LICENSE.txt', 'LICENSE.md'];

export interface PlannedFile extends ListedFile {
  /** File name in the model folder. */
  name: string;
}

export interface Plan {
  variant: string;
  files: PlannedFile[];
}

/** 'fp32' is what people call the unsuffixed files; accept it unless a source really has '-fp32' files. */
function wantedVariant(variant: string | undefined, names: string[]): string | undefined {
  if (variant === undefined) return undefined;
  const v = variant.replace(/^-/, '').trim();
  if (v.toLowerCase() === 'fp32' && !names.some((n) => /-fp32\.onnx$/.test(n))) return '';
  return v;
}

export function planFiles(listed: ListedFile[], variant: string | undefined, where: string, device: Device = 'cpu'): Plan {
  const root = listed.filter((f) => !f.path.includes('/'));
  const names = root.map((f) => f.path);
  const variants = variantsIn(names);
  const wanted = wantedVariant(variant, names);
  const shown = variants.map(variantLabel).join(', ');
  if (variants.length === 0 || (wanted !== undefined && !variants.includes(wanted))) {
    const folders = [...new Set(listed.filter((f) => f.path.includes('/')).map((f) => path.posix.dirname(f.path)))];
    const nested = folders.filter((d) => variantsIn(listed.filter((f) => path.posix.dirname(f.path) === d).map((f) => path.posix.basename(f.path))).length > 0);
    const hints = layoutHints(names, []).concat(nested.map((d) => `graphs of the 3-file split are in ${d}/: fetch with --subfolder ${d}`));
    const what = wanted === undefined ? 'no complete SAM 3 model (the 3-file split)' : `no complete '${variantLabel(wanted)}' variant`;
    const have = variants.length > 0 ? ` It has: ${shown}.` : '';
    throw new FetchError(`${where} has ${what}.${have}${hints.length ? ` ${hints.join('; ')}.` : ''}`);
  }
  const chosen = wanted ?? preferredVariant(variants, device) ?? variants[0];
  const byName = new Map(root.map((f) => [f.path, f]));
  const take: string[] = [];
  for (const stem of Object.values(GRAPH_STEMS)) {
    const graph = `${stem}${chosen ? `-${chosen}` : ''}.onnx`;
    take.push(graph, `${graph}.data`, `${graph}_data`);
  }
  if (!byName.has('tokenizer.json')) {
    throw new FetchError(`${where} has the graphs but no tokenizer.json, which the engine needs (the CLIP tokenizer in the Hugging Face tokenizers format).`);
  }
  take.push('tokenizer.json', ...OPTIONAL);
  const files = take.flatMap((name) => {
    const f = byName.get(name);
    return f ? [{ ...f, name }] : [];
  });
  return { variant: chosen, files };
}
