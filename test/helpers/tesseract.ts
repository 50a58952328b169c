/**
 * Tesseract (Debian's tesseract-ocr), a reader independent of the package's
 * own recogniser: what it reads in a crop is what a person could make out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import sharp from 'sharp';
import type { Box } from '../../src/common/types';

export function tesseractMissing(): string | undefined {
  const r = spawnSync('tesseract', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : 'tesseract is not installed (Debian tesseract-ocr; .ci/run installs it)';
}

/**
 * Reads one line of text in a region of an image, given the best chance:
 * grey, stretched to full contrast, enlarged 3 times (Tesseract wants
 * letters 30 px or more tall).
 */
export async function readLine(image: Buffer, box: Box): Promise<string> {
  const [x1, y1, x2, y2] = box;
  const crop = await sharp(image).extract({ left: x1, top: y1, width: x2 - x1, height: y2 - y1 }).greyscale().resize({ width: (x2 - x1) * 3, kernel: 'cubic' }).normalise().png().toBuffer();
  return execFileSync('tesseract', ['stdin', 'stdout', '--psm', '7'], { input: crop, stdio: ['pipe', 'pipe', 'ignore'] }).toString().trim();
}

/** The letters and digits of a reading, upper case. */
export const characters = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '');
