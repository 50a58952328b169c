/**
 * Faces on every video frame: a real face (cut from a labelled registry
 * photo) moves across a real beach photo, grows, turns in-plane, and is
 * hidden behind a grey card for one frame. Through video-split, sam3-segment
 * ("face", no SAM 3), mask-blur and video-encode, as a user wires them: the
 * face's labelled box is at least 95 % inside the masks on every frame where
 * it shows, the occluded frame keeps the track's cover (a one-frame miss
 * never leaks), and the face is one track from the first frame to the last.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { rleToBoxMask } from '../../src/common/rle';
import type { Instance } from '../../src/common/types';
import { LABELS } from '../fixtures/faces/labelled';
import { useNodeRed } from '../helpers/node-red';
import { debFile, MediaUnavailableError, npmFile } from '../helpers/registry-media';
import { tempDir } from '../helpers/temp';
import { cannotRun } from '../security/support';
import { encodeFrames, redactVideo } from '../video/support/redact-video';

const W = 640, H = 360, FRAMES = 40, OCCLUDED = 20;
type Point = [number, number];

/** Where the face is in frame i: centre, scale of the crop, and in-plane turn in degrees. */
function pose(i: number): { cx: number; cy: number; scale: number; angle: number } {
  const f = i / (FRAMES - 1);
  return { cx: 130 + 380 * f, cy: 175 + 20 * Math.sin(f * Math.PI), scale: 0.35 + 0.25 * f, angle: -20 + 40 * f };
}

interface Crop {
  image: Buffer;
  width: number;
  height: number;
  /** The labelled face box inside the crop. */
  face: [number, number, number, number];
}

/** The face's labelled box in frame i, as the polygon it becomes when the crop is scaled and turned. */
function facePolygon(crop: Crop, i: number): Point[] {
  const { cx, cy, scale, angle } = pose(i);
  const a = (angle * Math.PI) / 180;
  const [x1, y1, x2, y2] = crop.face;
  return ([[x1, y1], [x2, y1], [x2, y2], [x1, y2]] as Point[]).map(([x, y]) => {
    // About the crop's centre; sharp turns clockwise for positive angles, as the y-down frame does.
    const dx = (x - crop.width / 2) * scale, dy = (y - crop.height / 2) * scale;
    return [cx + dx * Math.cos(a) - dy * Math.sin(a), cy + dx * Math.sin(a) + dy * Math.cos(a)];
  });
}

function inside(p: Point, poly: Point[]): boolean {
  let odd = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}

/** Share of the polygon's pixels inside the instances' masks. */
function covered(poly: Point[], instances: Instance[]): number {
  const map = new Uint8Array(W * H);
  for (const inst of instances) {
    const m = rleToBoxMask(inst.mask);
    if (!m) continue;
    for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (m.data[y * m.width + x]) map[(m.y + y) * W + m.x + x] = 1;
  }
  let n = 0, all = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (inside([x + 0.5, y + 0.5], poly)) { all++; n += map[y * W + x]; }
  return n / all;
}

async function frame(crop: Crop, background: Buffer, i: number): Promise<Buffer> {
  const { cx, cy, scale, angle } = pose(i);
  const w = Math.round(crop.width * scale), h = Math.round(crop.height * scale);
  const turned = await sharp(crop.image).resize(w, h).rotate(angle, { background: { r: 0, g: 0, b: 0, alpha: 0 } }).png().toBuffer({ resolveWithObject: true });
  const layers: sharp.OverlayOptions[] = [{ input: turned.data, left: Math.round(cx - turned.info.width / 2), top: Math.round(cy - turned.info.height / 2) }];
  if (i === OCCLUDED) {
    // A grey card in front of the whole face.
    const card = await sharp({ create: { width: 200, height: 240, channels: 3, background: { r: 120, g: 120, b: 120 } } }).png().toBuffer();
    layers.push({ input: card, left: Math.round(cx - 100), top: Math.round(cy - 120) });
  }
  return sharp(background).composite(layers).removeAlpha().raw().toBuffer();
}


describe('faces on every video frame, tracked so that no frame leaks', () => {
  useNodeRed();
  let clip: string | undefined;
  let crop: Crop | undefined;
  let unavailable = '';
  before(async () => {
    try {
      // The middle face of sample3, cut with room around it.
      const photo = LABELS.photos.find((p) => p.name === 'sample3');
      const beach = LABELS.composites[0].background;
      if (!photo) throw new Error('sample3 is not labelled');
      const source = npmFile(LABELS.sources[photo.source].npm as string, photo.file, photo.sha256);
      const [fx1, fy1, fx2, fy2] = photo.faces[1];
      const left = fx1 - 60, top = fy1 - 70, width = fx2 - fx1 + 120, height = fy2 - fy1 + 120;
      crop = { image: await sharp(source).extract({ left, top, width, height }).png().toBuffer(), width, height, face: [60, 70, 60 + fx2 - fx1, 70 + fy2 - fy1] };
      const background = await sharp(debFile(LABELS.sources[beach.source].deb as string, beach.file, beach.sha256)).resize(W, H, { fit: 'cover' }).png().toBuffer();
      const frames: Buffer[] = [];
      for (let i = 0; i < FRAMES; i++) frames.push(await frame(crop, background, i));
      clip = path.join(tempDir(), 'face.mp4');
      await encodeFrames(frames, W, H, 20, clip);
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('the face is hidden on every frame, held through the occluded one, and is one track', async (t) => {
    if (!clip || !crop) return cannotRun(t, unavailable);
    const perFrame = await redactVideo(clip, FRAMES, 'face', {}, 'fill');

    const faceTracks = new Set<number>();
    for (let i = 0; i < FRAMES; i++) {
      const detections = perFrame.get(i) ?? [];
      const poly = facePolygon(crop, i);
      const share = covered(poly, detections);
      assert.ok(share >= 0.95, `frame ${i}: ${(share * 100).toFixed(1)} % of the face covered`);
      // The face's own cover: the instances over its centre.
      const [cx, cy] = [poly.reduce((s, p) => s + p[0], 0) / 4, poly.reduce((s, p) => s + p[1], 0) / 4];
      for (const d of detections) if (d.box[0] <= cx && cx <= d.box[2] && d.box[1] <= cy && cy <= d.box[3]) faceTracks.add((d as Instance & { track: number }).track);
      if (i === OCCLUDED) assert.ok(detections.length > 0 && detections.every((d) => d.carried), 'the occluded frame is covered by the held track');
    }
    assert.equal(faceTracks.size, 1, `one face, one track: ${[...faceTracks].join(', ')}`);
  });
});
