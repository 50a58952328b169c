/**
 * Which format to write: the source's own, so a JPEG stays a JPEG and a
 * lossless WebP screenshot stays lossless. Sources sharp can read but not
 * write (SVG, PDF, ...) come back as PNG, which loses nothing.
 */
import sharp from 'sharp';

export type OutputId = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' | 'heif';

export interface OutputFormat {
  id: OutputId;
  lossless: boolean;
}

function canWrite(id: string): boolean {
  const f = (sharp.format as unknown as Record<string, { output?: { buffer?: boolean } } | undefined>)[id];
  return !!f?.output?.buffer;
}

/** A WebP is lossless when its image chunk is VP8L (possibly after a VP8X header chunk). */
export function isLosslessWebp(buf: Buffer): boolean {
  if (buf.length < 20 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WEBP') return false;
  for (let p = 12; p + 8 <= buf.length; ) {
    const tag = buf.toString('latin1', p, p + 4);
    if (tag === 'VP8L') return true;
    if (tag === 'VP8 ' || tag === 'ANMF') return false;
    p += 8 + buf.readUInt32LE(p + 4) + (buf.readUInt32LE(p + 4) & 1);
  }
  return false;
}

export function chooseOutput(meta: sharp.Metadata, buf: Buffer): OutputFormat {
  let id: OutputId;
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'tiff':
    case 'gif':
      id = meta.format;
      break;
    case 'heif':
      id = meta.compression === 'av1' ? 'avif' : 'heif';
      break;
    default:
      id = 'png';
  }
  if (!canWrite(id === 'avif' ? 'heif' : id)) id = 'png';
  return { id, lossless: id === 'webp' && isLosslessWebp(buf) };
}

export function applyOutput(s: sharp.Sharp, f: OutputFormat, quality: number): sharp.Sharp {
  switch (f.id) {
    case 'jpeg':
      // No Huffman-table optimisation (sharp's default is on): it is a second
      // pass over the image that made a 12 MP encode 3.6x slower (37 -> 134 ms)
      // for a file 8 % smaller on photo-like content; libjpeg-turbo and
      // Pillow leave it off too (bench/README.md).
      return s.jpeg({ quality, optimiseCoding: false });
    case 'png':
      return s.png();
    case 'webp':
      return f.lossless ? s.webp({ lossless: true }) : s.webp({ quality });
    case 'tiff':
      // sharp's TIFF default is JPEG compression; a TIFF is usually kept for
      // being lossless, so write LZW.
      return s.tiff({ compression: 'lzw' });
    case 'gif':
      return s.gif();
    case 'avif':
      return s.avif({ quality });
    case 'heif':
      return s.heif({ compression: 'hevc', quality });
  }
}
