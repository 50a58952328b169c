/**
 * SAM 3 as a concept backend: a decoded image and prompts in, instances out,
 * through the inference host. Shared by Sam3Engine and RedactionEngine so the
 * tiling and timing code exists once.
 */
import type { Instance } from '../common/types';
import type { HostTimings, PromptSpec } from './host-protocol';
import type { DecodedImage } from './image-input';
import type { InferenceHost } from './inference-host';
import { planTiles, type TilesOption } from './tiles';

export interface BackendRun<T> {
  instances: Instance[];
  timings: T;
}

export type Sam3Timings = HostTimings & { tiles: number };

export async function runSam3(
  host: InferenceHost,
  imageSize: number,
  decoded: DecodedImage,
  prompts: PromptSpec[],
  tiles: TilesOption,
): Promise<BackendRun<Sam3Timings>> {
  const regions = planTiles(decoded.width, decoded.height, tiles, imageSize);
  const t0 = performance.now();
  const cut = await Promise.all(regions.map(async (region) => ({ region, rgb: await decoded.view(region, imageSize) })));
  const resizeMs = performance.now() - t0;
  const reply = await host.segment({ width: decoded.width, height: decoded.height, tiles: cut, prompts });
  return {
    instances: reply.instances,
    timings: { ...reply.timings, preprocessMs: reply.timings.preprocessMs + resizeMs, tiles: regions.length - 1 },
  };
}
