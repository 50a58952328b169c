/**
 * Where a watched folder keeps its state: claimed files in a hidden
 * processing area (so a rename claims them atomically and the watcher never
 * sees them again), originals in done/ or failed/ afterwards.
 */
import * as path from 'node:path';

export interface IntakeLayout {
  watch: string;
  processing: string;
  done: string;
  failed: string;
  output: string;
}

export function makeLayout(o: { watch: string; output: string; done?: string; failed?: string }): IntakeLayout {
  const watch = path.resolve(o.watch);
  return {
    watch,
    processing: path.join(watch, '.processing'),
    done: path.resolve(watch, o.done || 'done'),
    failed: path.resolve(watch, o.failed || 'failed'),
    output: path.resolve(watch, o.output),
  };
}

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Paths the watcher must not treat as new input: its own areas, hidden and temporary files. */
export function isIgnored(file: string, layout: IntakeLayout): boolean {
  if ([layout.processing, layout.done, layout.failed, layout.output].some((dir) => dir !== layout.watch && isInside(file, dir))) return true;
  const rel = path.relative(layout.watch, file);
  return rel.split(path.sep).some((part) => part.startsWith('.')) || /\.(partial|tmp|crdownload|part)$/i.test(file);
}

export const VIDEO_EXTENSIONS = ['mp4', 'mov', 'mkv', 'm4v', 'avi', 'webm'];
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'gif', 'avif'];

export function kindOf(file: string): 'image' | 'video' | undefined {
  const ext = path.extname(file).slice(1).toLowerCase();
  if (IMAGE_EXTENSIONS.includes(ext)) return 'image';
  if (VIDEO_EXTENSIONS.includes(ext)) return 'video';
  return undefined;
}

/**
 * The output wanted for an input, relative to the output folder: the same
 * relative path (videos become .mp4). The name actually used is decided when
 * the file is claimed (names.ts): shortened or numbered where needed.
 */
export function outputRelativeFor(relative: string): string {
  return kindOf(relative) === 'video' ? relative.replace(/\.[^./\\]+$/, '.mp4') : relative;
}
