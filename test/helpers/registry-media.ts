/**
 * Real photos from registry packages, fetched when a test needs them (the
 * npm registry and Debian's archive are what this project's machines reach)
 * and checked against the sha256 the labels were made on. Kept in
 * .test-tmp/media/ between runs; nothing is committed (see
 * test/fixtures/SOURCES.md for what comes from where, under which licence).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const CACHE = path.resolve(__dirname, '..', '..', '..', '.test-tmp', 'media');

export class MediaUnavailableError extends Error {
  constructor(what: string, why: string) {
    super(`${what} could not be fetched: ${why}`);
    this.name = 'MediaUnavailableError';
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function checked(file: string, expected: string, what: string): string {
  const got = sha256(file);
  if (got !== expected) throw new Error(`${what} is not the file the labels were made on (sha256 ${got}, expected ${expected})`);
  return file;
}

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new MediaUnavailableError(`${cmd} ${args.join(' ')}`, (e.stderr?.toString() || e.message).trim().split('\n').slice(-3).join(' '));
  }
}

/**
 * `target` inside the cache folder `dir`, which `fill` makes from nothing in
 * a folder of its own; renamed into place only when whole, so a run that
 * stops half way leaves no half package behind, and a test file running
 * beside it never sees the folder taken away.
 */
function cached(dir: string, target: string, what: string, expected: string, fill: (work: string) => void): string {
  if (existsSync(target)) return checked(target, expected, what);
  mkdirSync(path.dirname(dir), { recursive: true });
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  fill(work);
  // Test files run two at a time: another may have put the same package in place meanwhile; use it, never remove it.
  if (!existsSync(target)) {
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(work, dir);
    } catch (err) {
      if (!existsSync(target)) throw err;
    }
  }
  rmSync(work, { recursive: true, force: true });
  return checked(target, expected, what);
}

/** A file of an npm package (`name@version`), e.g. npmFile('@vladmandic/face-api@1.7.15', 'demo/sample1.jpg', sha). */
export function npmFile(spec: string, file: string, expected: string): string {
  const dir = path.join(CACHE, 'npm', spec.replace(/[^\w.@-]+/g, '_'));
  return cached(dir, path.join(dir, 'package', file), `${spec} ${file}`, expected, (work) => {
    run('npm', ['pack', spec, '--silent', '--pack-destination', work], work);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new MediaUnavailableError(spec, 'npm pack wrote no tarball');
    run('tar', ['-xzf', tgz, 'package'], work);
  });
}

/** A file of a Debian package, by its path inside the package (no leading slash). */
export function debFile(pkg: string, file: string, expected: string): string {
  const dir = path.join(CACHE, 'deb', pkg);
  return cached(dir, path.join(dir, 'root', file), `${pkg} ${file}`, expected, (work) => {
    run('apt-get', ['download', pkg], work);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new MediaUnavailableError(pkg, 'apt-get download wrote no package');
    run('dpkg-deb', ['-x', deb, 'root'], work);
  });
}
