/**
 * Give the last video frame of an MP4/MOV its duration.
 *
 * Why: with timestamps passed through (-vsync passthrough), ffmpeg before 6.x
 * hands the muxer packets without durations, so the MP4 muxer writes 0 for
 * the last sample. The video track then ends at the last frame's start: one
 * frame short, and readers that honour the edit list (ffprobe 6, browsers)
 * drop the last frame entirely. Measured on the shipped ffmpeg 4.1 build.
 *
 * The fix edits numbers in place in the moov box: the last stts delta, and
 * the durations in mdhd, tkhd, elst and mvhd. No box changes size, so chunk
 * offsets stay valid (the moov may sit before mdat after +faststart). Anything
 * unexpected (fragmented file, no zero-length last sample) leaves the file
 * untouched: it is still a valid file, just one frame short.
 */
import fs from 'node:fs';

interface Box {
  type: string;
  /** Offset of the box start within the buffer. */
  start: number;
  /** Offset of the payload (after size/type/largesize). */
  body: number;
  end: number;
}

function* boxes(buf: Buffer, start: number, end: number): Generator<Box> {
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let body = pos + 8;
    if (size === 1) {
      if (pos + 16 > end) return;
      size = Number(buf.readBigUInt64BE(pos + 8));
      body = pos + 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < body - pos || pos + size > end) return;
    yield { type, start: pos, body, end: pos + size };
    pos += size;
  }
}

function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  for (const b of boxes(buf, parent.body, parent.end)) if (b.type === type) return b;
  return undefined;
}

/** Read/write a "version 0: 32 bit, version 1: 64 bit" field. */
function readVar(buf: Buffer, offset: number, wide: boolean): number {
  return wide ? Number(buf.readBigUInt64BE(offset)) : buf.readUInt32BE(offset);
}
function writeVar(buf: Buffer, offset: number, wide: boolean, value: number): void {
  if (wide) buf.writeBigUInt64BE(BigInt(value), offset);
  else buf.writeUInt32BE(Math.min(value, 0xffffffff), offset);
}

async function findTopLevel(fh: fs.promises.FileHandle, type: string): Promise<{ offset: number; size: number } | undefined> {
  const { size: fileSize } = await fh.stat();
  const head = Buffer.alloc(16);
  let pos = 0;
  while (pos + 8 <= fileSize) {
    await fh.read(head, 0, 16, pos);
    let size = head.readUInt32BE(0);
    const t = head.toString('latin1', 4, 8);
    if (size === 1) size = Number(head.readBigUInt64BE(8));
    else if (size === 0) size = fileSize - pos;
    if (size < 8) return undefined;
    if (t === type) return { offset: pos, size };
    pos += size;
  }
  return undefined;
}

/**
 * Set the duration of the video track's last sample when the muxer left it
 * at 0. Returns true when the file was changed.
 */
export async function fixMp4LastFrameDuration(file: string, lastFrameSec: number): Promise<boolean> {
  if (!(lastFrameSec > 0) || !Number.isFinite(lastFrameSec)) return false;
  const fh = await fs.promises.open(file, 'r+');
  try {
    const loc = await findTopLevel(fh, 'moov');
    // A moov this large would be a very unusual file; leave it alone.
    if (!loc || loc.size > 512 * 1024 * 1024) return false;
    const buf = Buffer.alloc(loc.size);
    await fh.read(buf, 0, loc.size, loc.offset);
    const moov = [...boxes(buf, 0, buf.length)][0];
    if (!moov || moov.type !== 'moov' || child(buf, moov, 'mvex')) return false;
    const mvhd = child(buf, moov, 'mvhd');
    if (!mvhd) return false;
    const mvhdWide = buf[mvhd.body] === 1;
    const movieScale = buf.readUInt32BE(mvhd.body + (mvhdWide ? 20 : 12));
    const mvhdDurOff = mvhd.body + (mvhdWide ? 24 : 16);

    for (const trak of boxes(buf, moov.body, moov.end)) {
      if (trak.type !== 'trak') continue;
      const mdia = child(buf, trak, 'mdia');
      const hdlr = mdia && child(buf, mdia, 'hdlr');
      if (!mdia || !hdlr || buf.toString('latin1', hdlr.body + 8, hdlr.body + 12) !== 'vide') continue;
      const mdhd = child(buf, mdia, 'mdhd');
      const minf = child(buf, mdia, 'minf');
      const stbl = minf && child(buf, minf, 'stbl');
      const stts = stbl && child(buf, stbl, 'stts');
      const tkhd = child(buf, trak, 'tkhd');
      if (!mdhd || !stts || !tkhd) return false;

      const entries = buf.readUInt32BE(stts.body + 4);
      if (entries === 0) return false;
      const last = stts.body + 8 + (entries - 1) * 8;
      if (last + 8 > stts.end) return false;
      // Only the exact shape the muxer leaves behind: one sample of length 0.
      if (buf.readUInt32BE(last) !== 1 || buf.readUInt32BE(last + 4) !== 0) return false;

      const mdhdWide = buf[mdhd.body] === 1;
      const mediaScale = buf.readUInt32BE(mdhd.body + (mdhdWide ? 20 : 12));
      const mdhdDurOff = mdhd.body + (mdhdWide ? 24 : 16);
      const dMedia = Math.max(1, Math.round(lastFrameSec * mediaScale));
      const dMovie = Math.max(1, Math.round(lastFrameSec * movieScale));

      buf.writeUInt32BE(dMedia, last + 4);
      writeVar(buf, mdhdDurOff, mdhdWide, readVar(buf, mdhdDurOff, mdhdWide) + dMedia);

      const tkhdWide = buf[tkhd.body] === 1;
      const tkhdDurOff = tkhd.body + (tkhdWide ? 28 : 20);
      const trackDur = readVar(buf, tkhdDurOff, tkhdWide) + dMovie;
      writeVar(buf, tkhdDurOff, tkhdWide, trackDur);

      const edts = child(buf, trak, 'edts');
      const elst = edts && child(buf, edts, 'elst');
      if (elst) {
        const wide = buf[elst.body] === 1;
        const n = buf.readUInt32BE(elst.body + 4);
        const entrySize = wide ? 20 : 12;
        // The last edit that shows media (media_time -1 is an empty edit).
        for (let i = n - 1; i >= 0; i--) {
          const e = elst.body + 8 + i * entrySize;
          if (e + entrySize > elst.end) break;
          const mediaTime = wide ? Number(buf.readBigInt64BE(e + 8)) : buf.readInt32BE(e + 4);
          if (mediaTime === -1) continue;
          writeVar(buf, e, wide, readVar(buf, e, wide) + dMovie);
          break;
        }
      }
      if (trackDur > readVar(buf, mvhdDurOff, mvhdWide)) writeVar(buf, mvhdDurOff, mvhdWide, trackDur);

      await fh.write(buf, 0, buf.length, loc.offset);
      return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}
