/**
 * Child process: the person and vehicle detector and the plate finder on a
 * street photo at 1080p and at 12 MP, as sam3-segment runs them (whole image
 * and tiles): milliseconds per image, passes, and what each stage took. The
 * photo is the labelled street from Debian's opencv-doc (test/fixtures/objects),
 * resized to each size, with the labelled car-and-plate photo pasted in the
 * lower right so that plates have one to find.
 */
import sharp from 'sharp';
import { RedactionEngine } from '../src/engine';
import { labelledPhoto, platePhoto } from '../test/fixtures/objects/labelled';
import { childMain } from './lib/child';
import { median, round } from './lib/stats';

export interface ObjectPhotoArgs {
  runs: number;
}

export interface ObjectPhotoCase {
  name: string;
  width: number;
  height: number;
  prompt: string;
  /** Median ms of the whole call, and of each detector's inference. */
  totalMs: number;
  objectMs: number;
  textDetectMs: number;
  objectPasses: number;
  textPasses: number;
  instances: number;
}

export interface ObjectPhotoResult {
  cases: ObjectPhotoCase[];
}

async function main(a: ObjectPhotoArgs): Promise<ObjectPhotoResult> {
  const engine = await RedactionEngine.load({ faceModel: false });
  try {
    const street = labelledPhoto('bus-window').path;
    const car = await platePhoto();
    const cases: ObjectPhotoCase[] = [];
    for (const [name, width, height] of [['1080p', 1920, 1080], ['12 MP', 4000, 3000]] as const) {
      const carImage = await sharp(car.image).resize(Math.round(width * 0.3)).toBuffer();
      const jpeg = await sharp(street).resize(width, height, { fit: 'cover' })
        .composite([{ input: carImage, left: Math.round(width * 0.65), top: Math.round(height * 0.5) }])
        .jpeg({ quality: 90 }).toBuffer();
      for (const prompt of ['person, vehicle', 'license plate']) {
        const runs: Array<Awaited<ReturnType<RedactionEngine['segment']>>> = [];
        // The first run warms up.
        for (let i = 0; i <= a.runs; i++) {
          const r = await engine.segment(jpeg, prompt);
          if (i > 0) runs.push(r);
        }
        const pick = (f: (r: (typeof runs)[number]) => number): number => round(median(runs.map(f)), 1);
        cases.push({
          name, width, height, prompt,
          totalMs: pick((r) => r.timings.totalMs),
          objectMs: pick((r) => r.timings.objectMs ?? 0),
          textDetectMs: pick((r) => r.timings.textDetectMs),
          objectPasses: pick((r) => r.timings.objectPasses ?? 0),
          textPasses: pick((r) => r.timings.textPasses),
          instances: runs[0].instances.length,
        });
      }
    }
    return { cases };
  } finally {
    await engine.close();
  }
}

if (require.main === module) childMain(main);
