import type { NodeAPI } from 'node-red';
import { allowedRoots } from '../../common/path-guard';

/** settings.js `redactAllowedRoots` (or REDACT_ALLOWED_ROOTS): where paths taken from messages may point. */
export function rootsFromSettings(RED: NodeAPI): string[] {
  return allowedRoots((RED.settings as unknown as Record<string, unknown>).redactAllowedRoots);
}
