/**
 * How a backend with one ONNX file (the bundled face and person/vehicle
 * detectors) is prepared: turned off, missing, or ready for its host side,
 * with the file's sha256 as its identity.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sha256File } from '../common/file-hash';
import type { Preparation } from './backend';
import type { DetectorSpec } from './host/detector-session';

export async function prepareSingleModel(
  /** The option as given: a file, undefined for the bundled one, or false for off. */
  option: string | false | undefined,
  o: { bundled: string; optionName: string; title: string; hostDir: string; threads?: number },
): Promise<Preparation> {
  if (option === false) return { ok: false, reason: `${o.title} is turned off (${o.optionName}: false)`, code: 'MODEL_TURNED_OFF' };
  const model = option ?? o.bundled;
  const stat = await fs.stat(model).catch(() => undefined);
  if (!stat?.isFile()) return { ok: false, reason: `the model of ${o.title}, ${model}, is missing`, code: 'MODEL_FILES_MISSING' };
  const spec: DetectorSpec = { model, executionProviders: ['cpu'], threads: o.threads };
  return {
    ok: true,
    load: { module: path.join(o.hostDir, 'host.js'), spec, title: o.title },
    identity: async () => `sha256:${await sha256File(model)}`,
    details: { model },
  };
}
