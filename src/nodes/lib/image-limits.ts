/**
 * The image limits every node applies, from settings.js (`redactMaxImageBytes`,
 * `redactMaxPixels`) or the environment (REDACT_MAX_IMAGE_BYTES,
 * REDACT_MAX_PIXELS); the library's defaults otherwise. One source, so that
 * detection and redaction refuse the same files.
 */
import type { NodeAPI } from 'node-red';
import { limitsOf, type ImageLimits } from '../../common/image-source';

function positive(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

export function imageLimits(RED: NodeAPI, env: NodeJS.ProcessEnv = process.env): Required<ImageLimits> {
  const settings = RED.settings as unknown as Record<string, unknown>;
  return limitsOf({
    maxBytes: positive(settings.redactMaxImageBytes) ?? positive(env.REDACT_MAX_IMAGE_BYTES),
    maxPixels: positive(settings.redactMaxPixels) ?? positive(env.REDACT_MAX_PIXELS),
  });
}
