/**
 * Reads detected text lines with the recogniser, each from a small crop
 * around it (not the whole image: a 12 MP image is 36 MB to send to the
 * host). For backends that decide by what a line says (plates).
 */
import type { Instance } from '../../common/types';
import type { InferenceHost } from '../host/inference-host';
import { cropRgb, type DecodedImage } from '../image-input';
import type { TextOps, TurnedReading } from './protocol';
import { lineRect } from './verify';

/** Around each line, this share of its height on every side, so a tilted line stays whole in its crop. */
const MARGIN = 0.5;

export async function readLines(host: InferenceHost, view: DecodedImage, lines: Instance[]): Promise<TurnedReading[]> {
  const read = host.calls<TextOps>('ocr');
  return Promise.all(lines.map(async (line) => {
    const [x1, y1, x2, y2] = line.box;
    const m = Math.ceil((y2 - y1) * MARGIN);
    const x = Math.max(0, Math.floor(x1) - m);
    const y = Math.max(0, Math.floor(y1) - m);
    const region = { x, y, width: Math.min(view.width, Math.ceil(x2) + m) - x, height: Math.min(view.height, Math.ceil(y2) + m) - y };
    const rect = lineRect(line);
    const local = { ...rect, cx: rect.cx - x, cy: rect.cy - y };
    const turns = rect.width < 2 * rect.height ? ([0, 2, 1, 3] as const) : ([0, 2] as const);
    const reply = await read.call('read', { image: { rgb: cropRgb(view.rgb, view.width, region), width: region.width, height: region.height }, crops: [{ rect: local, turns: [...turns] }] }, 'reading a text line');
    return reply.readings[0];
  }));
}
