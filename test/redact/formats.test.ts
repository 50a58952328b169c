import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { redactImage } from '../../src/redact';
import { isLosslessWebp } from '../../src/redact/formats';
import { exifThumbnail } from '../../src/redact/thumbnails';
import { decode, instance, pattern, pixel, png, rectMask, type Raw } from './helpers';
import { XMP_SECRET, exifWithGpsAndThumbnail, photoshopWithThumbnail, withSegments, xmpWithThumbnail } from './jpeg-metadata';

const W = 96, H = 64;

function near(a: number[], b: number[], tol: number): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

/** Smooth background and a fine pattern patch, so lossy codecs stay close to the source outside the patch. */
function scene(width: number, height: number): Raw {
  const base = pattern(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x >= 10 && x < 40 && y >= 10 && y < 40) continue;
      const p = (y * width + x) * 3;
      base.data[p] = 40 + x;
      base.data[p + 1] = 60 + y;
      base.data[p + 2] = 120;
    }
  }
  return base;
}

test('each format comes back in the same format and size', async () => {
  const raw = scene(W, H);
  const m = rectMask(10, 10, 30, 30);
  const encoders: [string, (s: sharp.Sharp) => sharp.Sharp, number][] = [
    ['jpeg', (s) => s.jpeg({ quality: 95 }), 12],
    ['png', (s) => s.png(), 0],
    ['webp', (s) => s.webp({ quality: 95 }), 12],
    ['tiff', (s) => s.tiff(), 12],
    ['gif', (s) => s.gif(), 40],
    ['avif', (s) => s.avif({ quality: 90 }), 16],
  ];
  for (const [name, enc, tol] of encoders) {
    const input = await enc(sharp(raw.data, { raw: { width: W, height: H, channels: 3 } })).toBuffer();
    const res = await redactImage(input, [instance(m, W, H)], { mode: 'fill', fillColor: '#000000' });
    assert.equal(res.format, name);
    const meta = await sharp(res.image as Buffer).metadata();
    assert.equal(meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format, name);
    assert.equal(meta.width, W);
    assert.equal(meta.height, H);
    const out = await decode(res.image as Buffer);
    assert.ok(near(pixel(out, 25, 25).slice(0, 3), [0, 0, 0], tol), `${name}: mask is filled: ${pixel(out, 25, 25).join()}`);
    assert.ok(near(pixel(out, 80, 50).slice(0, 3), [120, 110, 120], tol + 4), `${name}: outside kept: ${pixel(out, 80, 50).join()}`);
  }
});

test('lossless WebP stays lossless and exact outside the mask', async () => {
  const raw = pattern(W, H);
  const input = await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).webp({ lossless: true }).toBuffer();
  assert.ok(isLosslessWebp(input));
  const res = await redactImage(input, [instance(rectMask(10, 10, 20, 20), W, H)]);
  assert.ok(isLosslessWebp(res.image as Buffer));
  const out = await decode(res.image as Buffer);
  assert.deepEqual(pixel(out, 80, 50), pixel(raw, 80, 50));
});

test('an EXIF orientation 6 JPEG is redacted in upright coordinates and written upright', async () => {
  // Upright it is 64 wide, 96 tall; stored lying on its side with orientation 6.
  const upright = scene(64, 96);
  const stored = await sharp(upright.data, { raw: { width: 64, height: 96, channels: 3 } }).rotate(270).raw().toBuffer();
  const jpeg = await sharp(stored, { raw: { width: 96, height: 64, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  const input = withSegments(jpeg, exifWithGpsAndThumbnail(Buffer.alloc(0), 6));
  const meta = await sharp(input).metadata();
  assert.equal(meta.orientation, 6);
  assert.equal(meta.width, 96);

  const m = rectMask(10, 50, 30, 30); // upright coordinates
  const res = await redactImage(input, [instance(m, 64, 96)], { mode: 'fill', fillColor: '#ff0000' });
  assert.equal(res.width, 64);
  assert.equal(res.height, 96);
  const outMeta = await sharp(res.image as Buffer).metadata();
  assert.equal(outMeta.width, 64);
  assert.equal(outMeta.height, 96);
  assert.ok(outMeta.orientation === undefined || outMeta.orientation === 1);
  const out = await decode(res.image as Buffer);
  assert.ok(near(pixel(out, 25, 65), [255, 0, 0], 12), `upright mask area is red: ${pixel(out, 25, 65).join()}`);
  assert.ok(near(pixel(out, 50, 10), pixel(upright, 50, 10), 12), 'upright elsewhere is unchanged');

  // A mask made for the stored (sideways) image is refused.
  await assert.rejects(redactImage(input, [instance(rectMask(10, 10, 20, 20), 96, 64)]), /upright/);
});

async function leakyJpeg(): Promise<{ input: Buffer; thumbnail: Buffer; icc: Buffer }> {
  const thumbnail = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#ff0000' } }).jpeg().toBuffer();
  const raw = scene(W, H);
  const body = await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).withIccProfile('p3').jpeg().toBuffer();
  const input = withSegments(
    body,
    exifWithGpsAndThumbnail(thumbnail),
    xmpWithThumbnail(thumbnail.toString('base64')),
    photoshopWithThumbnail(thumbnail),
  );
  const meta = await sharp(input).metadata();
  assert.ok(meta.exif && meta.xmp && meta.iptc && meta.icc, 'fixture carries EXIF, XMP, IPTC and ICC');
  assert.ok(exifThumbnail(meta.exif.subarray(6)), 'fixture has an EXIF thumbnail');
  return { input, thumbnail, icc: meta.icc };
}

/** Tags of IFD0 in an EXIF blob (little- or big-endian). */
function ifd0Tags(exif: Buffer): number[] {
  const t = exif.subarray(exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0);
  const le = t.toString('latin1', 0, 2) === 'II';
  const u16 = (p: number): number => (le ? t.readUInt16LE(p) : t.readUInt16BE(p));
  const ifd = le ? t.readUInt32LE(4) : t.readUInt32BE(4);
  return Array.from({ length: u16(ifd) }, (_, i) => u16(ifd + 2 + 12 * i));
}

test('by default EXIF (GPS, thumbnail), XMP and IPTC are dropped and the ICC profile is kept', async () => {
  const { input, thumbnail, icc } = await leakyJpeg();
  const res = await redactImage(input, [instance(rectMask(10, 10, 30, 30), W, H)]);
  const out = res.image as Buffer;
  const meta = await sharp(out).metadata();
  assert.equal(meta.exif, undefined);
  assert.equal(meta.xmp, undefined);
  assert.equal(meta.iptc, undefined);
  assert.ok(meta.icc && meta.icc.equals(icc), 'ICC profile kept byte for byte');
  assert.ok(!out.includes(thumbnail), 'no thumbnail bytes anywhere');
  assert.ok(!out.includes(Buffer.from(XMP_SECRET)));
});

test('keepMetadata keeps EXIF (with GPS), XMP and IPTC but never their thumbnails', async () => {
  const { input, thumbnail, icc } = await leakyJpeg();
  const res = await redactImage(input, [instance(rectMask(10, 10, 30, 30), W, H)], { keepMetadata: true });
  const out = res.image as Buffer;
  const meta = await sharp(out).metadata();
  assert.ok(meta.exif, 'EXIF kept');
  assert.ok(ifd0Tags(meta.exif).includes(0x8825), 'GPS pointer kept, as asked');
  assert.equal(exifThumbnail(meta.exif.subarray(6)), null, 'no IFD1 thumbnail');
  assert.ok(meta.xmp?.toString().includes(XMP_SECRET), 'XMP kept');
  assert.ok(!meta.xmp?.toString().includes('xmpGImg:image'), 'XMP thumbnail removed');
  assert.ok(meta.iptc?.includes(Buffer.from('IPTC caption')), 'IPTC kept');
  assert.ok(meta.icc?.equals(icc));
  assert.ok(!out.includes(thumbnail), 'no thumbnail bytes anywhere');
});

test('keepMetadata on a rotated source writes orientation 1, and PNG / WebP EXIF thumbnails go too', async () => {
  const thumbnail = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#ff0000' } }).jpeg().toBuffer();
  const body = await sharp(scene(W, H).data, { raw: { width: W, height: H, channels: 3 } }).jpeg().toBuffer();
  const jpeg = withSegments(body, exifWithGpsAndThumbnail(thumbnail, 6));
  for (const input of [jpeg, await sharp(jpeg).keepExif().png().toBuffer(), await sharp(jpeg).keepExif().webp().toBuffer()]) {
    assert.ok(input.includes(thumbnail), 'fixture carries the thumbnail');
    const res = await redactImage(input, [], { keepMetadata: true });
    const out = res.image as Buffer;
    const meta = await sharp(out).metadata();
    assert.equal(meta.width, H, `${res.format}: written upright`);
    assert.equal(meta.orientation, 1, `${res.format}: a kept orientation tag would rotate it twice`);
    assert.ok(meta.exif && ifd0Tags(meta.exif).includes(0x8825), `${res.format}: EXIF kept`);
    assert.ok(!out.includes(thumbnail), `${res.format}: thumbnail removed`);
  }
});

test('a PNG with an ICC profile keeps it, and pixels outside the mask stay exact', async () => {
  const raw = pattern(W, H);
  const input = await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).withIccProfile('p3').png().toBuffer();
  const icc = (await sharp(input).metadata()).icc;
  const res = await redactImage(input, [instance(rectMask(10, 10, 20, 20), W, H)]);
  assert.ok(icc && (await sharp(res.image as Buffer).metadata()).icc?.equals(icc));
  // Compare stored values: a plain decode would convert P3 to sRGB (and
  // withIccProfile above converted the pattern into P3 on the way in).
  const storedRaw = async (b: Buffer): Promise<Raw> => ({ data: await sharp(b).keepIccProfile().raw().toBuffer(), width: W, height: H, channels: 3 });
  const before = await storedRaw(input);
  const after = await storedRaw(res.image as Buffer);
  for (let y = 0; y < H; y++) for (let x = 40; x < W; x++) assert.deepEqual(pixel(after, x, y), pixel(before, x, y));
  assert.notDeepEqual(pixel(after, 20, 20), pixel(before, 20, 20));
});

test('greyscale and 16-bit inputs are redacted', async () => {
  const raw = pattern(W, H);
  const base = sharp(raw.data, { raw: { width: W, height: H, channels: 3 } });
  for (const input of [await base.clone().toColourspace('b-w').png().toBuffer(), await base.clone().toColourspace('rgb16').png().toBuffer()]) {
    const res = await redactImage(input, [instance(rectMask(10, 10, 20, 20), W, H)], { mode: 'fill', fillColor: '#ffffff' });
    const out = await decode(res.image as Buffer);
    assert.deepEqual(pixel(out, 20, 20).slice(0, 3), [255, 255, 255].slice(0, out.channels));
    const src = await decode(input);
    assert.deepEqual(pixel(out, 70, 40).slice(0, 1), pixel(src, 70, 40).slice(0, 1));
  }
});

test('a file path gives back an encoded Buffer in the file format', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redact-'));
  try {
    const file = join(dir, 'photo.jpg');
    const raw = scene(W, H);
    await writeFile(file, await sharp(raw.data, { raw: { width: W, height: H, channels: 3 } }).jpeg().toBuffer());
    const res = await redactImage(file, [instance(rectMask(10, 10, 30, 30), W, H)]);
    assert.ok(Buffer.isBuffer(res.image));
    assert.equal(res.format, 'jpeg');
    assert.equal((await sharp(res.image).metadata()).format, 'jpeg');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a PNG input with no ICC profile round-trips exactly outside the mask', async () => {
  const raw = pattern(W, H);
  const res = await redactImage(await png(raw), [instance(rectMask(30, 20, 20, 20), W, H)]);
  const out = await decode(res.image as Buffer);
  assert.deepEqual(out.data.subarray(0, 10 * W * 3), raw.data.subarray(0, 10 * W * 3));
});
