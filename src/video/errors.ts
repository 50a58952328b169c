/** Errors of the video layer, each with a stable code (docs/errors.md). */

export type VideoErrorCode =
  /** The file cannot be read: missing, empty, not a file, truncated. */
  | 'VIDEO_UNREADABLE'
  /** The file is read but holds no usable video: no streams, no video stream, no frames. */
  | 'VIDEO_NOT_A_VIDEO'
  /** ffmpeg failed while decoding frames. */
  | 'VIDEO_DECODE_FAILED'
  /** ffmpeg failed while encoding, or the output could not be published. */
  | 'VIDEO_ENCODE_FAILED'
  /** A writer or reader was used against its rules (a programming error). */
  | 'VIDEO_MISUSED'
  /** No usable ffmpeg or ffprobe binary. */
  | 'FFMPEG_MISSING';

export class VideoError extends Error {
  constructor(
    readonly code: VideoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VideoError';
  }
}
