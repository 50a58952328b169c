/**
 * Defaults and argument checks for RedactOptions. Every check names the
 * option, what was expected and what was received, so a wrong node setting is
 * fixed from the error text alone.
 */
import type { RedactMode, RedactOptions } from './types';
import { CodedError } from '../common/coded-error';
import { validateZones, type PrivacyZone } from './zones';

export interface ResolvedOptions {
  mode: RedactMode;
  fill: [number, number, number];
  cover: 'mask' | 'box';
  growPixels: number;
  growPercent: number;
  minGrowPixels: number;
  featherPixels: number;
  blurSigma: number | null;
  pixelSize: number | null;
  labels: Set<string> | null;
  minScore: number;
  quality: number;
  keepMetadata: boolean;
  wholeImage: boolean;
  inPlace: boolean;
  maxPixels: number | undefined;
  maxBytes: number | undefined;
  zones: PrivacyZone[];
}

const MODES: readonly RedactMode[] = ['blur', 'pixelate', 'fill'];

/**
 * The one set of defaults: the library applies them to options left out, the
 * nodes pass blank fields as undefined, and a test keeps the editor's
 * defaults (nodes/mask-blur.html) equal to these.
 */
export const REDACT_DEFAULTS = {
  mode: 'blur' as RedactMode,
  fillColor: '#000000',
  cover: 'mask' as 'mask' | 'box',
  growPercent: 4,
  growPixels: 0,
  minGrowPixels: 3,
  featherPixels: 4,
  minScore: 0,
  quality: 90,
} as const;

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${v}`;
  return typeof v;
}

function num(name: string, v: unknown, dflt: number, min: number, max = Infinity): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range = min === -Infinity ? 'finite number' : max === Infinity ? `number >= ${min}` : `number in ${min}..${max}`;
    throw new CodedError('OPTION_INVALID', `redact option ${name} must be a ${range}, got ${describe(v)}`);
  }
  return v;
}

function positiveOrNull(name: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new CodedError('OPTION_INVALID', `redact option ${name} must be a number > 0, got ${describe(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new CodedError('OPTION_INVALID', `redact option ${name} must be true or false, got ${describe(v)}`);
  return v;
}

/** '#rgb' or '#rrggbb' to [r, g, b]. */
export function parseColour(v: unknown): [number, number, number] {
  const m = typeof v === 'string' ? /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(v.trim()) : null;
  if (!m) throw new CodedError('OPTION_INVALID', `redact option fillColor must be '#rgb' or '#rrggbb', got ${describe(v)}`);
  const hex = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

export function resolveOptions(o: RedactOptions = {}): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new CodedError('OPTION_INVALID', `redact options must be an object, got ${describe(o)}`);
  const mode = o.mode ?? REDACT_DEFAULTS.mode;
  if (!MODES.includes(mode)) throw new CodedError('OPTION_INVALID', `redact option mode must be one of ${MODES.join(', ')}, got ${describe(mode)}`);
  const cover = o.cover ?? REDACT_DEFAULTS.cover;
  if (cover !== 'mask' && cover !== 'box') throw new CodedError('OPTION_INVALID', `redact option cover must be 'mask' or 'box', got ${describe(cover)}`);
  let labels: Set<string> | null = null;
  if (o.labels !== undefined && o.labels !== null) {
    if (!Array.isArray(o.labels) || !o.labels.every((l) => typeof l === 'string')) {
      throw new CodedError('OPTION_INVALID', `redact option labels must be an array of strings, got ${describe(o.labels)}`);
    }
    labels = new Set(o.labels);
  }
  return {
    mode,
    fill: parseColour(o.fillColor ?? REDACT_DEFAULTS.fillColor),
    cover,
    growPixels: num('growPixels', o.growPixels, REDACT_DEFAULTS.growPixels, 0),
    growPercent: num('growPercent', o.growPercent, REDACT_DEFAULTS.growPercent, 0),
    minGrowPixels: num('minGrowPixels', o.minGrowPixels, REDACT_DEFAULTS.minGrowPixels, 0),
    featherPixels: num('featherPixels', o.featherPixels, REDACT_DEFAULTS.featherPixels, 0),
    blurSigma: positiveOrNull('blurSigma', o.blurSigma),
    pixelSize: positiveOrNull('pixelSize', o.pixelSize),
    labels,
    minScore: num('minScore', o.minScore, REDACT_DEFAULTS.minScore, -Infinity),
    quality: Math.round(num('quality', o.quality, REDACT_DEFAULTS.quality, 1, 100)),
    keepMetadata: bool('keepMetadata', o.keepMetadata),
    wholeImage: bool('wholeImage', o.wholeImage),
    inPlace: bool('inPlace', o.inPlace),
    maxPixels: o.maxPixels === undefined ? undefined : num('maxPixels', o.maxPixels, 0, 1),
    maxBytes: o.maxBytes === undefined ? undefined : num('maxBytes', o.maxBytes, 0, 1),
    zones: validateZones(o.zones),
  };
}
