/**
 * Decoder outputs -> instances, as the contract's reference pipeline does:
 * score = sigmoid(query logit) * sigmoid(presence logit), boxes scaled to the
 * image and clipped, masks upsampled bilinearly and kept where logit > 0.
 */
import type { Box, BoxMask } from '../../common/types';
import type { RawInstance } from '../instances';
import type { Region } from '../region';
import { filledMask, tighten, upsampleMask } from './mask-upsample';

export interface DecoderOutput {
  masks: Float32Array;
  maskHeight: number;
  maskWidth: number;
  /** x1,y1,x2,y2 normalised to 0..1, per query. */
  boxes: Float32Array;
  logits: Float32Array;
  presence: number;
  queries: number;
}


export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export function decodeInstances(
  out: DecoderOutput,
  region: Region,
  image: { width: number; height: number },
  label: string,
  threshold: number,
  source: number,
): RawInstance[] {
  const presence = sigmoid(out.presence);
  const plane = out.maskHeight * out.maskWidth;
  // One mask cell in image pixels: bilinear spill around the predicted box
  // can set pixels up to about that far out, so the window includes it.
  const marginX = Math.ceil(region.width / out.maskWidth) + 1;
  const marginY = Math.ceil(region.height / out.maskHeight) + 1;
  const found: RawInstance[] = [];
  for (let q = 0; q < out.queries; q++) {
    const score = sigmoid(out.logits[q]) * presence;
    if (!(score >= threshold)) continue;
    const b = out.boxes.subarray(q * 4, q * 4 + 4);
    const bx1 = clamp(region.x + b[0] * region.width, 0, image.width);
    const by1 = clamp(region.y + b[1] * region.height, 0, image.height);
    const bx2 = clamp(region.x + b[2] * region.width, 0, image.width);
    const by2 = clamp(region.y + b[3] * region.height, 0, image.height);
    const left = Math.max(region.x, Math.floor(Math.min(bx1, bx2)) - marginX);
    const top = Math.max(region.y, Math.floor(Math.min(by1, by2)) - marginY);
    const right = Math.min(region.x + region.width, Math.ceil(Math.max(bx1, bx2)) + marginX);
    const bottom = Math.min(region.y + region.height, Math.ceil(Math.max(by1, by2)) + marginY);
    const window: Region = { x: left, y: top, width: Math.max(0, right - left), height: Math.max(0, bottom - top) };
    const mask = window.width > 0 && window.height > 0
      ? tighten(upsampleMask(out.masks, q * plane, out.maskHeight, out.maskWidth, region, window))
      : null;
    const boxRegion: Region = {
      x: Math.floor(Math.min(bx1, bx2)),
      y: Math.floor(Math.min(by1, by2)),
      width: Math.ceil(Math.max(bx1, bx2)) - Math.floor(Math.min(bx1, bx2)),
      height: Math.ceil(Math.max(by1, by2)) - Math.floor(Math.min(by1, by2)),
    };
    const inst = instanceOf(label, score, boxRegion, mask, source);
    if (inst) found.push(inst);
  }
  return found;
}

/**
 * One instance from a kept query's box and mask: a confident query whose
 * mask vanished is covered by its box rather than not at all (a privacy tool
 * errs towards covering); the box grows to hold the whole mask.
 */
export function instanceOf(label: string, score: number, boxRegion: Region, found: BoxMask | null, source: number): RawInstance | null {
  let mask = found;
  if (!mask) {
    if (boxRegion.width <= 0 || boxRegion.height <= 0) return null;
    mask = filledMask(boxRegion);
  }
  const box: Box = [
    Math.min(boxRegion.x, mask.x),
    Math.min(boxRegion.y, mask.y),
    Math.max(boxRegion.x + Math.max(0, boxRegion.width), mask.x + mask.width),
    Math.max(boxRegion.y + Math.max(0, boxRegion.height), mask.y + mask.height),
  ];
  return { label, score, box, mask, source };
}
