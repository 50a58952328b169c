/**
 * Each deployed mask-blur node's redaction settings, by node id: the review
 * page previews a decision with the settings of the mask-blur node the
 * review node names, so the preview is what that node will produce.
 */
import type { RedactOptions } from '../../redact';

const settings = new Map<string, RedactOptions>();

export const redactSettings = {
  set(id: string, options: RedactOptions): void {
    settings.set(id, options);
  },
  get(id: string | undefined): RedactOptions | undefined {
    return id ? settings.get(id) : undefined;
  },
  delete(id: string): void {
    settings.delete(id);
  },
};
