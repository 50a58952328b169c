/**
 * Builds JPEG metadata segments by hand, because sharp cannot write the parts
 * that leak: GPS tags, an EXIF thumbnail (IFD1), XMP and Photoshop thumbnails.
 */

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(marker, 0);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/** Little-endian TIFF: IFD0 (Orientation, GPS pointer) -> GPS IFD; IFD1 holding a JPEG thumbnail. */
export function exifWithGpsAndThumbnail(thumbnail: Buffer, orientation = 1): Buffer {
  const ifd0 = 8;
  const gps = ifd0 + 2 + 2 * 12 + 4;
  const rationals = gps + 2 + 2 * 12 + 4;
  const ifd1 = rationals + 24;
  const thumb = ifd1 + 2 + 3 * 12 + 4;
  const b = Buffer.alloc(thumb);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(ifd0, 4);
  const entry = (at: number, tag: number, type: number, count: number, value: number | string): void => {
    b.writeUInt16LE(tag, at);
    b.writeUInt16LE(type, at + 2);
    b.writeUInt32LE(count, at + 4);
    if (typeof value === 'string') b.write(value, at + 8, 'latin1');
    else if (type === 3) b.writeUInt16LE(value, at + 8);
    else b.writeUInt32LE(value, at + 8);
  };
  b.writeUInt16LE(2, ifd0);
  entry(ifd0 + 2, 0x0112, 3, 1, orientation);
  entry(ifd0 + 14, 0x8825, 4, 1, gps);
  b.writeUInt32LE(ifd1, ifd0 + 26);
  b.writeUInt16LE(2, gps);
  entry(gps + 2, 0x0001, 2, 2, 'N\0');
  entry(gps + 14, 0x0002, 5, 3, rationals);
  b.writeUInt32LE(0, gps + 26);
  [51, 1, 30, 1, 7, 1].forEach((v, i) => b.writeUInt32LE(v, rationals + 4 * i));
  b.writeUInt16LE(3, ifd1);
  entry(ifd1 + 2, 0x0103, 3, 1, 6);
  entry(ifd1 + 14, 0x0201, 4, 1, thumb);
  entry(ifd1 + 26, 0x0202, 4, 1, thumbnail.length);
  b.writeUInt32LE(0, ifd1 + 38);
  return segment(0xffe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), b, thumbnail]));
}

export const XMP_SECRET = 'secret-xmp-creator';

/** XMP with a creator and an embedded (base64) thumbnail. */
export function xmpWithThumbnail(thumbnailBase64: string): Buffer {
  const xml =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" ' +
    'xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/">' +
    `<dc:creator><rdf:Seq><rdf:li>${XMP_SECRET}</rdf:li></rdf:Seq></dc:creator>` +
    '<xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource"><xmpGImg:width>16</xmpGImg:width>' +
    `<xmpGImg:image>${thumbnailBase64}</xmpGImg:image></rdf:li></rdf:Alt></xmp:Thumbnails>` +
    '</rdf:Description></rdf:RDF></x:xmpmeta>';
  return segment(0xffe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(xml)]));
}

/** Photoshop APP13: an IPTC record (resource 0x0404) and a thumbnail (resource 0x040C). */
export function photoshopWithThumbnail(thumbnail: Buffer): Buffer {
  const resource = (id: number, data: Buffer): Buffer => {
    const head = Buffer.alloc(12);
    head.write('8BIM', 0, 'latin1');
    head.writeUInt16BE(id, 4);
    head.writeUInt16BE(0, 6); // empty Pascal name, padded to even length
    head.writeUInt32BE(data.length, 8);
    return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
  };
  const caption = Buffer.from('IPTC caption');
  const iptc = Buffer.concat([Buffer.from([0x1c, 2, 120, 0, caption.length]), caption]);
  const thumbHeader = Buffer.alloc(28); // Photoshop's thumbnail resource header, then the JPEG
  thumbHeader.writeUInt32BE(1, 0);
  return segment(
    0xffed,
    Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), resource(0x0404, iptc), resource(0x040c, Buffer.concat([thumbHeader, thumbnail]))]),
  );
}

/** Insert segments right after the JPEG's SOI marker. */
export function withSegments(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}
