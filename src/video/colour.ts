/**
 * Colour handling shared by the reader and the writer. The reader converts
 * YUV to RGB with the source's matrix and range, the writer converts back
 * with the same ones and tags the output like the source, so pixels that the
 * redaction did not touch come out as they went in (no colour shift).
 */
import type { ColourInfo } from './types';

/** swscale's matrix names (vf_scale in_/out_color_matrix) for ffprobe's color_space. */
export function swsMatrix(colorSpace: string | null): string {
  switch (colorSpace) {
    case 'bt709':
      return 'bt709';
    case 'fcc':
      return 'fcc';
    case 'bt470bg':
      return 'bt470';
    case 'smpte170m':
      return 'smpte170m';
    case 'smpte240m':
      return 'smpte240m';
    case 'bt2020nc':
    case 'bt2020c':
      return 'bt2020';
    default:
      // ffmpeg's own default for untagged video; both directions use it, so
      // untagged sources round-trip unchanged.
      return 'bt601';
  }
}

/** vf_scale range name for ffprobe's color_range ("pc" = full, else limited). */
export function swsRange(colorRange: string | null): 'pc' | 'tv' {
  return colorRange === 'pc' || colorRange === 'jpeg' ? 'pc' : 'tv';
}

// Names every ffmpeg since 4.0 accepts for these options. ffprobe may be
// newer than ffmpeg (the npm packages are) and print names the older ffmpeg
// rejects, which would fail the whole encode; such tags are skipped instead.
const KNOWN: Record<'colorspace' | 'color_primaries' | 'color_trc' | 'color_range', ReadonlySet<string>> = {
  colorspace: new Set([
    'rgb', 'bt709', 'fcc', 'bt470bg', 'smpte170m', 'smpte240m', 'ycgco', 'bt2020nc', 'bt2020c', 'smpte2085',
  ]),
  color_primaries: new Set([
    'bt709', 'bt470m', 'bt470bg', 'smpte170m', 'smpte240m', 'film', 'bt2020', 'smpte428', 'smpte431', 'smpte432',
    'jedec-p22',
  ]),
  color_trc: new Set([
    'bt709', 'gamma22', 'gamma28', 'smpte170m', 'smpte240m', 'linear', 'log100', 'log316', 'iec61966-2-4', 'bt1361e',
    'iec61966-2-1', 'bt2020-10', 'bt2020-12', 'smpte2084', 'smpte428', 'arib-std-b67',
  ]),
  color_range: new Set(['tv', 'pc']),
};

export interface ColourArgs {
  args: string[];
  /** Tags present in the source that could not be carried over. */
  skipped: string[];
}

/** Encoder options that tag the output with the source's colour description. */
export function colourTagArgs(colour: ColourInfo): ColourArgs {
  const args: string[] = [];
  const skipped: string[] = [];
  const add = (option: keyof typeof KNOWN, value: string | null): void => {
    if (!value || value === 'unknown' || value === 'unspecified' || value === 'reserved') return;
    if (KNOWN[option].has(value)) args.push(`-${option}`, value);
    else skipped.push(`${option}=${value}`);
  };
  // The output is YUV even when the source was RGB (rgb colorspace would mislabel it).
  add('colorspace', colour.colorSpace === 'rgb' ? null : colour.colorSpace);
  add('color_primaries', colour.colorPrimaries);
  add('color_trc', colour.colorTransfer);
  add('color_range', colour.colorRange);
  return { args, skipped };
}
