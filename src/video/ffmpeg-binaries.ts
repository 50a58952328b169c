/**
 * Where ffmpeg and ffprobe come from. Order: an explicit path, then the
 * FFMPEG_PATH / FFPROBE_PATH environment variables, then a binary on PATH,
 * then the optional npm installer packages. A configured or system binary
 * wins over the npm one because the npm builds are old static 4.x builds
 * (see docs/platform-notes.md); they are the fallback that makes the package
 * work out of the box.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VideoError } from './errors';

export type BinaryName = 'ffmpeg' | 'ffprobe';
export type BinarySource = 'option' | 'env' | 'path' | 'npm';

export interface ResolvedBinary {
  path: string;
  source: BinarySource;
}

export interface BinaryOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Environment to read FFMPEG_PATH / FFPROBE_PATH / PATH from; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Skip the npm installer packages (tests use this to check the error). */
  noNpmFallback?: boolean;
}

const ENV_VAR: Record<BinaryName, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };
const NPM_PACKAGE: Record<BinaryName, string> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    // X_OK means nothing on Windows; existence is the best check there.
    if (process.platform !== 'win32') fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: BinaryName, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext.toLowerCase());
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

function fromNpm(name: BinaryName): string | undefined {
  try {
    // Required lazily: these are optionalDependencies and may be absent, and
    // their index throws (sometimes a bare string) on unsupported platforms.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional dependency, looked for only when needed
    const mod = require(NPM_PACKAGE[name]) as { path?: unknown };
    return typeof mod.path === 'string' && isExecutableFile(mod.path) ? mod.path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolve one binary. A path given explicitly or through the environment must
 * work: falling back silently to another binary would hide a configuration
 * mistake, so that throws instead.
 */
export function resolveBinary(name: BinaryName, options: BinaryOptions = {}): ResolvedBinary {
  const env = options.env ?? process.env;
  const explicit = name === 'ffmpeg' ? options.ffmpegPath : options.ffprobePath;
  if (explicit) {
    if (!isExecutableFile(explicit)) {
      throw new VideoError('FFMPEG_MISSING', `${name} path "${explicit}" (from options) is not an executable file`);
    }
    return { path: explicit, source: 'option' };
  }
  const fromEnv = env[ENV_VAR[name]];
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) {
      throw new VideoError('FFMPEG_MISSING', `${name} path "${fromEnv}" (from ${ENV_VAR[name]}) is not an executable file`);
    }
    return { path: fromEnv, source: 'env' };
  }
  const onPath = findOnPath(name, env);
  if (onPath) return { path: onPath, source: 'path' };
  const npm = options.noNpmFallback ? undefined : fromNpm(name);
  if (npm) return { path: npm, source: 'npm' };
  throw new VideoError(
    'FFMPEG_MISSING',
    `${name} not found: set ${ENV_VAR[name]}, install ${name} on PATH, ` +
      `or install the optional package ${NPM_PACKAGE[name]}`,
  );
}

export function resolveFfmpegPath(options: BinaryOptions = {}): string {
  return resolveBinary('ffmpeg', options).path;
}

export function resolveFfprobePath(options: BinaryOptions = {}): string {
  return resolveBinary('ffprobe', options).path;
}
