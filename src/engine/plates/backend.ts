/**
 * Number plates, from what two bundled backends see (plates/rules.ts): the
 * text detector's lines, kept where they sit on a vehicle found by the
 * person and vehicle detector, or where they are plate-shaped and read like a
 * registration. No model of its own: it runs in the shared process and reads
 * the other two through the engine (RunContext.use), so neither runs twice on
 * one image.
 */
import { isPlatePrompt } from '../../common/concepts';
import type { Backend, PromptSpec } from '../backend';
import { boxFill } from '../../common/boxes';
import { toInstances, type RawInstance } from '../instances';
import { checkThreshold } from '../prompts';
import { readLines } from '../text/read-lines';
import { textBackend, type TextCallOptions, type TextLoadOptions } from '../text/backend';
import { objectBackend, type ObjectCallOptions, type ObjectLoadOptions } from '../objects/backend';
import { onVehicle, plateBox, plateShaped, readsLikePlate } from './rules';

/** Text line score a plate needs (the text detector's own default). */
export const DEFAULT_PLATE_THRESHOLD = 0.5;
/**
 * Vehicles that plates are looked for on: lower than the vehicle prompt's
 * default, since a plate on a doubtful vehicle is still a plate-shaped line.
 */
const VEHICLE_THRESHOLD = 0.25;

/** How sure the recogniser must be of a line off any vehicle before its reading counts. */
const READ_CONFIDENCE = 0.5;

const LINES = 'plates/text';
const VEHICLES = 'plates/vehicle';

export interface PlateDetectOptions {
  /** Score a plate's text line needs (default 0.5). */
  threshold?: number;
}

export interface PlateCallOptions extends TextCallOptions, ObjectCallOptions {
  plates?: PlateDetectOptions;
}

function needs(prompts: PromptSpec[]): { lines: PromptSpec; vehicles: PromptSpec } {
  const threshold = Math.min(...prompts.map((p) => p.threshold));
  return {
    lines: { text: 'text', label: LINES, threshold },
    vehicles: { text: 'vehicle', label: VEHICLES, threshold: VEHICLE_THRESHOLD },
  };
}

export const plateBackend: Backend<undefined, TextLoadOptions & ObjectLoadOptions, PlateCallOptions> = {
  name: 'plates',
  title: 'the plate finder (text lines on vehicles)',
  joinedBySam3: true,
  answers: isPlatePrompt,
  threshold: (o) => checkThreshold('plates threshold', o.plates?.threshold ?? DEFAULT_PLATE_THRESHOLD),

  async prepare(o) {
    // Plates are text lines: without the text detector there is nothing to find them with.
    const text = await textBackend.prepare(o);
    if (!text.ok) return { ok: false, reason: `plates are found by the bundled text detector, which is not available: ${text.reason}`, code: text.code };
    // Its identity is what it reads: the text models, and the vehicle model when there is one.
    const objects = await objectBackend.prepare(o);
    const identity = async (): Promise<string> => `plates on text ${await text.identity()}${objects.ok ? ` and vehicles ${await objects.identity()}` : ''}`;
    return { ok: true, identity };
  },

  uses(prompts) {
    const n = needs(prompts);
    return [{ backend: 'ocr', prompts: [n.lines] }, { backend: 'objects', prompts: [n.vehicles] }];
  },

  async run(ctx, view, prompts) {
    const n = needs(prompts);
    const [lines, vehicles] = await Promise.all([
      ctx.use('ocr', [n.lines]),
      ctx.has('objects') ? ctx.use('objects', [n.vehicles]) : Promise.resolve([]),
    ]);
    const t0 = performance.now();
    const boxes = vehicles.map((v) => v.box);
    const onCars: typeof lines = [];
    const elsewhere: typeof lines = [];
    for (const l of lines) {
      if (onVehicle(l.box, boxes)) onCars.push(l);
      else if (plateShaped(l.box)) elsewhere.push(l);
    }
    const readings = elsewhere.length ? await readLines(ctx.host, view, elsewhere) : [];
    // Off a vehicle, only a reading the recogniser is fairly sure of: a doubtful "a453" on a bus's destination sign is not a plate.
    const plates = [...onCars, ...elsewhere.filter((_, i) => readings[i].confidence >= READ_CONFIDENCE && readsLikePlate(readings[i].text))];
    const raw: RawInstance[] = [];
    for (const plate of plates) {
      const box = plateBox(plate.box, view.width, view.height);
      if (!box) continue;
      const mask = boxFill(box);
      for (const p of prompts) if (plate.score >= p.threshold) raw.push({ label: p.label, score: plate.score, box, mask, source: 0 });
    }
    return { instances: toInstances(raw, view.width, view.height), timings: { postprocessMs: performance.now() - t0, plateReads: readings.length } };
  },

  unavailable(prompts, reason) {
    const what = prompts.length ? `${prompts.map((p) => `"${p}"`).join(', ')} need${prompts.length === 1 ? 's' : ''}` : 'this needs';
    return `${what} the bundled text detector, which finds plates: ${reason.trim().replace(/\.$/, '')}. With a SAM 3 model, { "text": "license plate", "backend": "sam3" } finds plates with SAM 3 instead.`;
  },
};
