/** Instances as backends' host sides make them, and the JSON shape they leave the host in. */
import { boxMaskToRle } from '../common/rle';
import type { Box, BoxMask, Instance } from '../common/types';

/** An instance before RLE encoding: mask held inside its box. */
export interface RawInstance {
  label: string;
  score: number;
  box: Box;
  mask: BoxMask;
  /** Which pass found it (0 = whole frame, 1.. = tiles): merging only joins different passes. */
  source: number;
}

/** Raw instances of any backend -> the JSON shape that crosses layers (score to 4 places, mask as RLE). */
export function toInstances(raw: RawInstance[], width: number, height: number): Instance[] {
  return raw.map((inst) => ({
    label: inst.label,
    score: Math.round(inst.score * 1e4) / 1e4,
    box: inst.box,
    mask: boxMaskToRle(inst.mask, width, height),
  }));
}
