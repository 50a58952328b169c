/** Public surface of the video layer (no Node-RED imports below this folder). */
export { probeVideo, type ProbeOptions } from './probe';
export { FrameReader, openFrameReader, type FrameReaderOptions } from './frame-reader';
export {
  createFrameWriter,
  FrameInputError,
  type FrameWriter,
  type FrameWriterOptions,
  type FrameWriterResult,
  type OutputFormat,
} from './frame-writer';
export { resolveBinary, resolveFfmpegPath, resolveFfprobePath, type BinaryOptions } from './ffmpeg-binaries';
export { liveProcessIds } from './ffmpeg';
export { VideoError, type VideoErrorCode } from './errors';
export type { AudioStreamInfo, ColourInfo, Rotation, VideoFrame, VideoInfo } from './types';
export { FAILED_LABEL } from './frame-schedule';
