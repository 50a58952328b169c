/**
 * A review image: each detection's mask tinted in its label's colour, with
 * its box and "label score" drawn on top, so a person can check what the
 * model found before trusting a flow with it.
 */
import sharp from 'sharp';
import { rleToBoxMask } from '../common/rle';
import type { ImageInput, Instance } from '../common/types';
import { checkRawFrame, compositeOver, decodeUpright, describeInput, inspectImage, isRawFrame, readImageBytes, type ImageLimits } from '../common/image-source';

const PALETTE: Array<[number, number, number]> = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
];

function colourOf(label: string, labels: string[]): [number, number, number] {
  return PALETTE[labels.indexOf(label) % PALETTE.length];
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);

/** Draws the detections over the upright image; returns a JPEG. */
export async function drawPreview(image: ImageInput, instances: Instance[], limits: ImageLimits = {}): Promise<Buffer> {
  // The same upright pixels detection saw: one read of the bytes, the same pipeline and limits.
  let data: Buffer;
  let width: number;
  let height: number;
  if (isRawFrame(image)) {
    checkRawFrame(image, limits.maxPixels);
    data = Buffer.from(image.data);
    ({ width, height } = image);
  } else {
    const bytes = await readImageBytes(image, limits);
    const px = await decodeUpright(bytes, await inspectImage(bytes, limits, describeInput(image)), limits);
    data = px.channels === 4 ? compositeOver(px, 255) : px.data;
    ({ width, height } = px);
  }
  const labels = [...new Set(instances.map((i) => i.label))];
  // Tint in place: 45% label colour over each mask pixel.
  for (const inst of instances) {
    const m = rleToBoxMask(inst.mask);
    if (!m || inst.mask.size[0] !== height || inst.mask.size[1] !== width) continue;
    const [r, g, b] = colourOf(inst.label, labels);
    for (let y = 0; y < m.height; y++) {
      for (let x = 0; x < m.width; x++) {
        if (!m.data[y * m.width + x]) continue;
        const o = ((y + m.y) * width + (x + m.x)) * 3;
        data[o] = data[o] * 0.55 + r * 0.45;
        data[o + 1] = data[o + 1] * 0.55 + g * 0.45;
        data[o + 2] = data[o + 2] * 0.55 + b * 0.45;
      }
    }
  }
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(12, Math.round(Math.min(width, height) / 40));
  const shapes = instances.map((inst) => {
    const [x1, y1, x2, y2] = inst.box;
    const [r, g, b] = colourOf(inst.label, labels);
    const text = escapeXml(`${inst.label} ${inst.score.toFixed(2)}`);
    const ty = y1 > font + 4 ? y1 - 4 : y2 + font;
    return `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="rgb(${r},${g},${b})" stroke-width="${stroke}"/>` +
      `<text x="${x1}" y="${ty}" font-family="sans-serif" font-size="${font}" fill="rgb(${r},${g},${b})" stroke="black" stroke-width="0.6">${text}</text>`;
  });
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`);
  return sharp(data, { raw: { width, height, channels: 3 } })
    .composite([{ input: svg, top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer();
}
