/**
 * Public shapes of the redact layer. Plain data only, so a node can pass the
 * options straight from its config and put the summary into msg as it is.
 */
import type { PrivacyZone } from './zones';
import type { RawFrame } from '../common/types';

export type RedactMode = 'blur' | 'pixelate' | 'fill';

export interface RedactOptions {
  /** Default 'blur'. */
  mode?: RedactMode;
  /** '#rgb' or '#rrggbb', for fill. Default '#000000'. */
  fillColor?: string;
  /** 'mask' (default) covers each instance's mask; 'box' covers its whole box. */
  cover?: 'mask' | 'box';
  /** Extra growth in pixels on top of the percentage rule. Default 0. */
  growPixels?: number;
  /** Growth as a percentage of the instance's shorter box side. Default 4. */
  growPercent?: number;
  /** Growth is at least this many pixels. Default 3. */
  minGrowPixels?: number;
  /** Soft edge that spreads outward from the grown mask only. Default 4. */
  featherPixels?: number;
  /** Blur sigma in pixels; default max(8, shorter side of the region / 8). */
  blurSigma?: number;
  /** Mosaic cell size in pixels; default max(8, shorter side of the region / 10). */
  pixelSize?: number;
  /** Redact only instances with these labels (default: all). */
  labels?: string[];
  /** Ignore instances scoring below this (default 0). */
  minScore?: number;
  /** JPEG / WebP / AVIF quality, 1..100. Default 90. */
  quality?: number;
  /**
   * Keep EXIF, XMP and IPTC. Default false: they are dropped. Embedded
   * previews (EXIF thumbnail, XMP and Photoshop thumbnails) are removed even
   * when true, since they are unredacted copies of the image. The ICC colour
   * profile is always kept.
   */
  keepMetadata?: boolean;
  /** Redact the whole image, ignoring instances: the fail-closed fallback. */
  wholeImage?: boolean;
  /**
   * Change a raw frame's own pixels rather than a copy of them. Default
   * false: the caller's frame stays as it was. For frames whose buffer the
   * caller owns and no longer needs unredacted (video frames in a flow):
   * saves a frame-sized copy per call. Encoded images are never changed.
   */
  inPlace?: boolean;
  /**
   * Fixed privacy zones, hidden whatever the instances are (and whatever
   * `labels` and `minScore` keep): polygons relative to the upright image.
   */
  zones?: PrivacyZone[];
  /** Largest image accepted, in pixels (default 100 million). */
  maxPixels?: number;
  /** Largest encoded image accepted, in bytes (default 256 MiB); a file over it is refused unread. */
  maxBytes?: number;
}

export interface LabelSummary {
  instances: number;
  /** Pixels fully covered for this label's instances (overlaps within a label counted per instance). */
  pixels: number;
}

export interface RedactSummary {
  mode: string;
  instances: number;
  perLabel: Record<string, LabelSummary>;
  /** Image pixels fully covered, each counted once however many instances cover it. */
  pixelsRedacted: number;
  ms: number;
  /** Present and true when the whole image was redacted. */
  wholeImage?: boolean;
  /** The fixed privacy zones hidden, by name, with the pixels each covered (also counted under perLabel.zone). */
  zones?: Array<{ name?: string; pixels: number }>;
}

export interface RedactResult {
  /** Same form as the input: encoded Buffer (same format) or RawFrame. A file path gives a Buffer. */
  image: Buffer | RawFrame;
  /** 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' | 'heif' | 'raw'. */
  format: string;
  /** Upright size. */
  width: number;
  height: number;
  summary: RedactSummary;
}
