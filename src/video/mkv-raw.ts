/**
 * A minimal Matroska muxer for raw RGB24 frames, written to ffmpeg's stdin.
 *
 * Why: ffmpeg's rawvideo input only knows a constant rate, and the ffmpeg 4.x
 * that ships with the npm package has no way to attach a timestamp file to
 * piped frames (no setts bitstream filter, mkvtimestamp_v2 is write-only).
 * Matroska carries a timestamp per block and ffmpeg demuxes it from a pipe,
 * so every frame keeps its exact source time, constant or variable rate, with
 * one code path. Each frame is one Cluster holding one SimpleBlock: ~42 bytes
 * of framing per frame, and no seeking back (the Segment has unknown size).
 *
 * Codec "V_UNCOMPRESSED" with ColourSpace FourCC "RGB\x18" is what ffmpeg's
 * demuxer maps to rawvideo rgb24 (its muxer refuses to write raw RGB, but the
 * demuxer reads it; checked with the 4.1 build and newer).
 */

/** Matroska timestamps are in microseconds here (TimecodeScale 1000 ns). */
export const MKV_TICKS_PER_SECOND = 1_000_000;

function idBytes(id: number): Buffer {
  const hex = id.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
}

/** EBML data size as an 8-byte vint: fixed width keeps the framing arithmetic trivial. */
function size8(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  b[0] |= 0x01;
  return b;
}

function element(id: number, payload: Buffer): Buffer {
  return Buffer.concat([idBytes(id), size8(payload.length), payload]);
}

function uintElement(id: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return element(id, b);
}

function stringElement(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  ColourSpace: 0x2eb524,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** EBML header, Segment start (unknown size), Info and the one video track. */
export function mkvHeader(width: number, height: number): Buffer {
  const ebml = element(
    ID.EBML,
    Buffer.concat([
      uintElement(ID.EBMLVersion, 1),
      uintElement(ID.EBMLReadVersion, 1),
      uintElement(ID.EBMLMaxIDLength, 4),
      uintElement(ID.EBMLMaxSizeLength, 8),
      stringElement(ID.DocType, 'matroska'),
      uintElement(ID.DocTypeVersion, 4),
      uintElement(ID.DocTypeReadVersion, 2),
    ]),
  );
  // All-ones size = "unknown": the stream is written once, front to back.
  const segmentStart = Buffer.concat([idBytes(ID.Segment), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
  const info = element(
    ID.Info,
    Buffer.concat([
      uintElement(ID.TimecodeScale, 1_000_000_000 / MKV_TICKS_PER_SECOND),
      stringElement(ID.MuxingApp, 'sam3-redact'),
      stringElement(ID.WritingApp, 'sam3-redact'),
    ]),
  );
  const video = element(
    ID.Video,
    Buffer.concat([
      uintElement(ID.PixelWidth, width),
      uintElement(ID.PixelHeight, height),
      element(ID.ColourSpace, Buffer.from([0x52, 0x47, 0x42, 24])), // 'R','G','B',24
    ]),
  );
  const tracks = element(
    ID.Tracks,
    element(
      ID.TrackEntry,
      Buffer.concat([
        uintElement(ID.TrackNumber, 1),
        uintElement(ID.TrackUID, 1),
        uintElement(ID.TrackType, 1),
        uintElement(ID.FlagLacing, 0),
        stringElement(ID.CodecID, 'V_UNCOMPRESSED'),
        video,
      ]),
    ),
  );
  return Buffer.concat([ebml, segmentStart, info, tracks]);
}

/**
 * The bytes that go in front of one frame's pixels: a Cluster at the frame's
 * time holding a single key-frame SimpleBlock. The pixels follow unchanged,
 * so the caller's buffer is written as is, without a copy.
 */
export function mkvFramePrefix(timestampTicks: number, frameBytes: number): Buffer {
  if (!Number.isSafeInteger(timestampTicks) || timestampTicks < 0) {
    throw new RangeError(`frame timestamp must be a non-negative integer tick count, got ${timestampTicks}`);
  }
  const blockHeader = Buffer.from([0x81, 0x00, 0x00, 0x80]); // track 1, relative time 0, keyframe
  const timecode = uintElement(ID.Timecode, timestampTicks);
  const blockSize = blockHeader.length + frameBytes;
  const blockElementSize = idBytes(ID.SimpleBlock).length + 8 + blockSize;
  return Buffer.concat([
    idBytes(ID.Cluster),
    size8(timecode.length + blockElementSize),
    timecode,
    idBytes(ID.SimpleBlock),
    size8(blockSize),
    blockHeader,
  ]);
}
