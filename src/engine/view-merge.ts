/**
 * Detections of one image seen twice (a translucent image over white and
 * over black) merged into one list: an object found in both views is one
 * instance, its mask the union of both (cover more, never less), its score
 * the higher; an object found in one view only is kept as it is.
 */
import { boxMaskToRle, rleToBoxMask } from '../common/rle';
import type { Box, BoxMask, Instance } from '../common/types';
import { iou } from '../common/boxes';

/** Boxes this alike are the same object seen twice. */
const SAME_OBJECT_IOU = 0.7;


function unionMask(a: BoxMask, b: BoxMask): BoxMask {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  const width = Math.max(a.x + a.width, b.x + b.width) - x;
  const height = Math.max(a.y + a.height, b.y + b.height) - y;
  const data = new Uint8Array(width * height);
  for (const m of [a, b]) {
    for (let r = 0; r < m.height; r++) {
      for (let c = 0; c < m.width; c++) if (m.data[r * m.width + c]) data[(r + m.y - y) * width + (c + m.x - x)] = 1;
    }
  }
  return { x, y, width, height, data };
}

function merge(a: Instance, b: Instance): Instance {
  const [h, w] = a.mask.size;
  const ma = rleToBoxMask(a.mask);
  const mb = rleToBoxMask(b.mask);
  const mask = ma && mb ? boxMaskToRle(unionMask(ma, mb), w, h) : ma ? a.mask : b.mask;
  const box: Box = [Math.min(a.box[0], b.box[0]), Math.min(a.box[1], b.box[1]), Math.max(a.box[2], b.box[2]), Math.max(a.box[3], b.box[3])];
  return { ...(a.score >= b.score ? a : b), box, mask };
}

export function mergeViews(views: Instance[][]): Instance[] {
  const [first = [], ...rest] = views;
  const out = [...first];
  for (const list of rest) {
    for (const inst of list) {
      const twin = out.findIndex((o) => o.label === inst.label && iou(o.box, inst.box) >= SAME_OBJECT_IOU);
      if (twin >= 0) out[twin] = merge(out[twin], inst);
      else out.push(inst);
    }
  }
  return out;
}
