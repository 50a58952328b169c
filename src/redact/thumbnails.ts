/**
 * Embedded previews are unredacted copies of the image. When the user asks to
 * keep metadata, these are still taken out: the EXIF thumbnail (IFD1), the
 * Photoshop thumbnail resources in the IPTC block, and XMP thumbnails.
 *
 * sharp can only keep or drop a metadata block whole, so EXIF and IPTC are
 * edited in a copy of the source bytes, in place and at the same length (no
 * container offsets move); a block that cannot be edited safely is dropped.
 */
import { crc32 } from 'node:zlib';
import type sharp from 'sharp';

export interface KeptMetadata {
  /** The source bytes with previews blanked out. */
  buffer: Buffer;
  exif: boolean;
  iptc: boolean;
  /** XMP to write instead of the source's, when it had to change. */
  xmp: string | null;
}

interface Span {
  start: number;
  end: number;
}

/** Start of the TIFF structure inside an EXIF blob (after an optional "Exif\0\0"). */
function tiffStart(exif: Buffer): number {
  return exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0;
}

/**
 * Where IFD1 (the thumbnail directory) hangs off IFD0 (`link`) and what to
 * blank, relative to the TIFF start: spans[0] is the directory itself, any
 * further spans are thumbnail image bytes. Null if there is no IFD1;
 * 'unknown' if the structure cannot be followed.
 */
export function exifThumbnail(tiff: Buffer): { link: number; spans: Span[] } | null | 'unknown' {
  if (tiff.length < 8) return 'unknown';
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return 'unknown';
  const le = order === 'II';
  const u16 = (p: number): number => (le ? tiff.readUInt16LE(p) : tiff.readUInt16BE(p));
  const u32 = (p: number): number => (le ? tiff.readUInt32LE(p) : tiff.readUInt32BE(p));
  const ifd0 = u32(4);
  if (ifd0 + 2 > tiff.length) return 'unknown';
  const link = ifd0 + 2 + 12 * u16(ifd0);
  if (link + 4 > tiff.length) return 'unknown';
  const ifd1 = u32(link);
  if (ifd1 === 0) return null;
  if (ifd1 + 2 > tiff.length) return 'unknown';
  const n = u16(ifd1);
  const spans: Span[] = [{ start: ifd1, end: Math.min(tiff.length, ifd1 + 2 + 12 * n + 4) }];
  const tags = new Map<number, { count: number; value: number }>();
  for (let i = 0; i < n; i++) {
    const e = ifd1 + 2 + 12 * i;
    if (e + 12 > tiff.length) return 'unknown';
    const type = u16(e + 2);
    tags.set(u16(e), { count: u32(e + 4), value: type === 3 ? u16(e + 8) : u32(e + 8) });
  }
  const pairs: [number, number][] = [
    [0x0201, 0x0202], // JPEGInterchangeFormat, JPEGInterchangeFormatLength
    [0x0111, 0x0117], // StripOffsets, StripByteCounts (uncompressed thumbnail)
  ];
  for (const [offTag, lenTag] of pairs) {
    const off = tags.get(offTag);
    const len = tags.get(lenTag);
    if (!off && !len) continue;
    // Several strips would need their offset arrays followed; drop the block instead.
    if (!off || !len || off.count !== 1 || len.count !== 1) return 'unknown';
    spans.push({ start: off.value, end: Math.min(tiff.length, off.value + len.value) });
  }
  return { link, spans };
}

/** Photoshop image resources holding thumbnails (Photoshop 4 and 5+). */
const PS_THUMBNAILS = new Set([0x0409, 0x040c]);

/** Data spans of thumbnail resources in a Photoshop IRB block; 'unknown' if it cannot be walked. */
export function photoshopThumbnails(irb: Buffer): Span[] | 'unknown' {
  let p = irb.toString('latin1', 0, 14) === 'Photoshop 3.0\0' ? 14 : 0;
  const spans: Span[] = [];
  while (p + 4 <= irb.length && irb.toString('latin1', p, p + 4) === '8BIM') {
    if (p + 7 > irb.length) return 'unknown';
    const id = irb.readUInt16BE(p + 4);
    const nameLen = irb[p + 6];
    const sizeAt = p + 6 + ((nameLen + 2) & ~1); // Pascal string padded to even length
    if (sizeAt + 4 > irb.length) return 'unknown';
    const size = irb.readUInt32BE(sizeAt);
    const data = sizeAt + 4;
    if (data + size > irb.length) return 'unknown';
    if (PS_THUMBNAILS.has(id)) spans.push({ start: data, end: data + size });
    p = data + size + (size & 1);
  }
  return spans;
}

/** XMP thumbnails are base64 images under the xmpGImg namespace. */
export function stripXmpThumbnails(xmp: string): string {
  const prefixes = [...xmp.matchAll(/xmlns:([\w.-]+)\s*=\s*["']http:\/\/ns\.adobe\.com\/xap\/1\.0\/g\/img\/["']/g)].map((m) => m[1]);
  let out = xmp;
  for (const p of prefixes) {
    const q = p.replace(/[.-]/g, '\\$&');
    out = out
      .replace(new RegExp(`<${q}:image\\b[^>]*/>`, 'g'), '')
      .replace(new RegExp(`<${q}:image\\b[^>]*>[\\s\\S]*?</${q}:image\\s*>`, 'g'), '')
      .replace(new RegExp(`\\s${q}:image\\s*=\\s*("[^"]*"|'[^']*')`, 'g'), '');
  }
  return out;
}

/** After an in-place edit inside a PNG chunk, its CRC must be recomputed or the chunk is rejected. */
function fixPngCrc(png: Buffer, at: number): boolean {
  for (let p = 8; p + 12 <= png.length; ) {
    const len = png.readUInt32BE(p);
    const end = p + 8 + len;
    if (end + 4 > png.length) return false;
    if (at >= p + 8 && at < end) {
      png.writeUInt32BE(crc32(png.subarray(p + 4, end)) >>> 0, end);
      return true;
    }
    p = end + 4;
  }
  return false;
}

/** Zero `spans` (relative to `block`) where `block` sits verbatim in `buf`; false if it is not there. */
function blankInPlace(buf: Buffer, block: Buffer, spans: Span[], isPng: boolean): boolean {
  const at = buf.indexOf(block);
  if (at < 0 || buf.indexOf(block, at + 1) >= 0) return false;
  for (const s of spans) buf.fill(0, at + s.start, at + s.end);
  return isPng ? fixPngCrc(buf, at) : true;
}

/** Decide what metadata can be kept and blank the previews in a copy of the source. */
export function keepWithoutPreviews(source: Buffer, meta: sharp.Metadata): KeptMetadata {
  const buffer = Buffer.from(source);
  const isPng = meta.format === 'png';
  let exif = true;
  if (meta.exif) {
    const tiff = meta.exif.subarray(tiffStart(meta.exif));
    const thumb = exifThumbnail(tiff);
    if (thumb === 'unknown') exif = false;
    else if (thumb) {
      const link = { start: thumb.link, end: thumb.link + 4 };
      exif = blankInPlace(buffer, Buffer.from(tiff), [link, ...thumb.spans], isPng);
    }
  }
  let iptc = true;
  if (meta.iptc) {
    const spans = photoshopThumbnails(meta.iptc);
    if (spans === 'unknown') iptc = false;
    else if (spans.length) iptc = blankInPlace(buffer, Buffer.from(meta.iptc), spans, isPng);
  }
  let xmp: string | null = null;
  if (meta.xmp) {
    const text = meta.xmp.toString('utf8');
    const clean = stripXmpThumbnails(text);
    if (clean !== text) xmp = clean;
  }
  return { buffer, exif, iptc, xmp };
}
