/**
 * Text rendered by the tests themselves (SVG <text> through sharp, with the
 * fonts fontconfig finds), and where each line's ink landed, so detection
 * can be checked line by line.
 */
import sharp from 'sharp';
import { rleToBoxMask } from '../../../src/common/rle';
import type { Box, Instance, RawFrame } from '../../../src/common/types';

export interface TextLine {
  text: string;
  /** Baseline start, as SVG's x and y. */
  x: number;
  y: number;
  size: number;
  font: string;
  fill: string;
  bold?: boolean;
  /** Degrees clockwise about the line's start. */
  rotate?: number;
}

export interface Panel {
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
}

export interface Scene {
  width: number;
  height: number;
  background: string;
  panels: Panel[];
  /** Text-free decoration (SVG markup), e.g. shapes that must stay untouched. */
  decoration?: string;
  lines: TextLine[];
}

/** Ink of one line: the pixels it set, and their bounds. */
export interface Ink {
  box: Box;
  /** Pixel indices (y * width + x). */
  pixels: number[];
}

const escapeXml = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function lineSvg(l: TextLine): string {
  const rotate = l.rotate ? ` transform="rotate(${l.rotate} ${l.x} ${l.y})"` : '';
  const weight = l.bold ? ' font-weight="bold"' : '';
  return `<text x="${l.x}" y="${l.y}" font-family="${l.font}" font-size="${l.size}"${weight} fill="${l.fill}"${rotate}>${escapeXml(l.text)}</text>`;
}

export function sceneSvg(scene: Scene, onlyLine?: number): string {
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}">`];
  if (onlyLine === undefined) {
    parts.push(`<rect width="${scene.width}" height="${scene.height}" fill="${scene.background}"/>`);
    for (const p of scene.panels) parts.push(`<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="${p.fill}"/>`);
    if (scene.decoration) parts.push(scene.decoration);
    scene.lines.forEach((l) => parts.push(lineSvg(l)));
  } else parts.push(lineSvg(scene.lines[onlyLine]));
  parts.push('</svg>');
  return parts.join('');
}

export async function renderScene(scene: Scene): Promise<RawFrame> {
  const { data, info } = await sharp(Buffer.from(sceneSvg(scene))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

export async function encodePng(frame: RawFrame): Promise<Buffer> {
  return sharp(Buffer.from(frame.data), { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toBuffer();
}

/** Where line `index` puts visible ink (alpha over a quarter), rendered alone. */
export async function lineInk(scene: Scene, index: number): Promise<Ink> {
  const { data, info } = await sharp(Buffer.from(sceneSvg(scene, index))).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const pixels: number[] = [];
  let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
  for (let p = 0; p < info.width * info.height; p++) {
    if (data[p * 4 + 3] < 64) continue;
    pixels.push(p);
    const x = p % info.width, y = Math.floor(p / info.width);
    x1 = Math.min(x1, x);
    y1 = Math.min(y1, y);
    x2 = Math.max(x2, x + 1);
    y2 = Math.max(y2, y + 1);
  }
  return { box: [x1, y1, x2, y2], pixels };
}

/** A full-image 0/1 map of what the instances' masks cover. */
export function coverMap(instances: Instance[], width: number, height: number): Uint8Array {
  const map = new Uint8Array(width * height);
  for (const inst of instances) {
    const m = rleToBoxMask(inst.mask);
    if (!m) continue;
    for (let y = 0; y < m.height; y++) {
      for (let x = 0; x < m.width; x++) if (m.data[y * m.width + x]) map[(m.y + y) * width + m.x + x] = 1;
    }
  }
  return map;
}

/** Share of the ink covered by the map. */
export function inkCovered(ink: Ink, map: Uint8Array): number {
  let n = 0;
  for (const p of ink.pixels) n += map[p];
  return ink.pixels.length ? n / ink.pixels.length : 1;
}

/** The largest share of the ink that a single instance covers: one instance per line means close to 1. */
export function bestSingleCover(ink: Ink, instances: Instance[], width: number, height: number): number {
  return Math.max(0, ...instances.map((inst) => inkCovered(ink, coverMap([inst], width, height))));
}

/** Whether the box holds the other box, with `slack` pixels of tolerance. */
export function boxHolds(outer: Box, inner: Box, slack = 0): boolean {
  return outer[0] <= inner[0] + slack && outer[1] <= inner[1] + slack && outer[2] >= inner[2] - slack && outer[3] >= inner[3] - slack;
}
