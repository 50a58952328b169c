/**
 * Which text lines are number plates. No permissively licensed plate
 * detector ships in a registry package, so plates are found from what the
 * bundled detectors see: a text line on the lower part of a vehicle (or just
 * below its box, which detectors often end above the bumper), and, anywhere
 * else, a plate-shaped line whose reading looks like a registration (letters
 * and at least one digit, 4 to 10 of them): a "SLOW" or "STOP" sign stays.
 */
import { growBox } from '../../common/boxes';
import type { Box } from '../../common/types';

export interface PlateLine {
  box: Box;
  score: number;
}

/** What the recogniser read in a line (for lines that are not on a vehicle). */
export interface LineReading {
  text: string;
}

/**
 * Where on a vehicle a plate sits: below this share of its height from the
 * top. A car seen from behind has its plate at 0.55 to 0.75 of its box, a
 * bus's is near the bottom; adverts on a bus's side sit higher.
 */
const PLATE_FROM = 0.45;
/** How far below a vehicle's box a plate may still be, as a share of its height. */
const BELOW = 0.15;
/**
 * A plate is at most this share of its vehicle's width (a car's is about
 * 0.3 from straight behind, less from an angle), and its text line at most
 * this share of its height (a blurred line's box is tall).
 */
const MAX_WIDTH = 0.4;
const MAX_HEIGHT = 0.35;
/** Plate text lines, one or two rows: width over height. */
const MIN_ASPECT = 1.2;
const MAX_ASPECT = 8;

const aspect = (b: Box): number => (b[2] - b[0]) / Math.max(1, b[3] - b[1]);

/** The vehicle a line sits on as a plate would, if any. */
export function onVehicle(line: Box, vehicles: readonly Box[]): Box | undefined {
  const cx = (line[0] + line[2]) / 2;
  const cy = (line[1] + line[3]) / 2;
  return vehicles.find((v) => {
    const vw = v[2] - v[0];
    const vh = v[3] - v[1];
    return cx >= v[0] && cx <= v[2] && cy >= v[1] + PLATE_FROM * vh && cy <= v[3] + BELOW * vh &&
      line[2] - line[0] <= MAX_WIDTH * vw && line[3] - line[1] <= MAX_HEIGHT * vh && plateShaped(line);
  });
}

/** Whether a line could be a plate by its shape alone (what is read decides, off vehicles). */
export function plateShaped(line: Box): boolean {
  const a = aspect(line);
  return a >= MIN_ASPECT && a <= MAX_ASPECT && line[3] - line[1] >= 6;
}

/** Whether a reading looks like a registration: 4 to 10 letters and digits, at least one digit. */
export function readsLikePlate(reading: string): boolean {
  const chars = reading.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return chars.length >= 4 && chars.length <= 10 && /[0-9]/.test(chars);
}

/**
 * The plate around a text line: the line grown to the plate's border and the
 * small print above and below it (a region or dealer name), clipped.
 */
export function plateBox(line: Box, width: number, height: number): Box | null {
  return growBox(line, 0.12, 0.4, width, height);
}
