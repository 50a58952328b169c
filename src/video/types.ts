/**
 * Plain-data shapes of the video layer. VideoInfo survives JSON so that a
 * video job can carry the source facts once (architecture.md, "Video job").
 */
import type { RawFrame } from '../common/types';

export type Rotation = 0 | 90 | 180 | 270;

export interface AudioStreamInfo {
  /** Absolute stream index in the source file (for messages; mapping is by type). */
  index: number;
  codec: string;
  channels: number;
  sampleRate: number;
  /** ISO 639 language tag, the one stream tag the writer carries over. */
  language?: string;
}

/** Colour tags as ffprobe names them; null where the file does not say. */
export interface ColourInfo {
  colorSpace: string | null;
  colorPrimaries: string | null;
  colorTransfer: string | null;
  colorRange: string | null;
  pixFmt: string | null;
}

export interface VideoInfo {
  hasVideo: boolean;
  /** Absolute index of the video stream that is read (attached pictures skipped). */
  streamIndex: number;
  codec: string;
  /** Upright size: what the frame reader yields, after rotation. */
  width: number;
  height: number;
  /** Size as stored in the file, before rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Clockwise degrees a player turns the stored picture to show it upright. */
  rotation: Rotation;
  /** Pixel aspect ratio of the upright picture, "num:den" ("1:1" when unknown). */
  sampleAspectRatio: string;
  /** Average frame rate in frames per second (0 when unknown). */
  fps: number;
  /** Frame count when the container states it or the packet scan counted it. */
  frameCount?: number;
  durationSec: number;
  /** Video stream time base, e.g. "1/15360". */
  timeBase: string;
  /** True when frame timestamps are not evenly spaced. */
  variableFrameRate: boolean;
  audioStreams: AudioStreamInfo[];
  colour: ColourInfo;
}

/** One decoded frame with its place in the video. */
export interface VideoFrame {
  /** 0-based position in decode-output order (presentation order). */
  index: number;
  /** Presentation time in seconds, relative to the start of the file. */
  timestamp: number;
  frame: RawFrame;
}
