/**
 * Downloads one file into `<name>.partial`, resuming from what is already
 * there with a Range request, hashing as it goes, and checking size and
 * checksum at the end. A dropped connection or a stalled server keeps the
 * partial bytes and is retried (and a later run resumes too); a checksum
 * that does not match deletes the file and refuses.
 */
import { promises as fs } from 'node:fs';
import type { Hash } from 'node:crypto';
import { createHasher, describeChecksum, hashFilePrefix } from './checksum';
import type { PlannedFile } from './plan';
import type { ProgressSink } from './progress';
import { causeOf, FetchError, isRetryableStatus, RetryableError, type ModelSource } from './source';

export interface DownloadOptions {
  source: ModelSource;
  progress: ProgressSink;
  /** Extra attempts after a retryable failure within this run. */
  retries: number;
  /** Abort an attempt when no byte arrives for this long. */
  stallMs: number;
  /** First pause between attempts; doubles each time. */
  backoffMs: number;
}

async function sizeOf(p: string): Promise<number> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return 0;
  }
}

/** The start of a 206 answer's Content-Range ('bytes 100-199/200' -> 100). */
function rangeStart(res: Response): number | undefined {
  const m = /^bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** A checksum that did not match; `resumed` says whether bytes from an earlier attempt were part of the file. */
export class ChecksumError extends FetchError {
  constructor(
    message: string,
    readonly resumed: boolean,
  ) {
    super(message);
    this.name = 'ChecksumError';
  }
}

/** Aborts a transfer when no byte has arrived for `ms`; `poke` on every chunk. */
function stallGuard(ms: number): { signal: AbortSignal; stalled: () => boolean; poke: () => void; stop: () => void } {
  const abort = new AbortController();
  let stalled = false;
  const fire = (): void => {
    stalled = true;
    abort.abort();
  };
  let timer = setTimeout(fire, ms);
  return {
    signal: abort.signal,
    stalled: () => stalled,
    poke: () => {
      clearTimeout(timer);
      timer = setTimeout(fire, ms);
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * Asks for the bytes from `have` on and sorts out the answer: the response to
 * stream, and where in the file it starts (0 when the server ignored the range).
 */
async function request(file: PlannedFile, partial: string, have: number, signal: AbortSignal, opts: DownloadOptions): Promise<{ res: Response; from: number }> {
  // identity: a compressed answer would make byte offsets, and so resuming, meaningless.
  const headers: Record<string, string> = { ...opts.source.headers(), 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await fetch(file.url, { headers, signal });
  if (res.status === 416 && have > 0) {
    // Nothing after `have` at the source: the partial is stale (or whole, without a size to tell); start again.
    await res.body?.cancel();
    await fs.rm(partial, { force: true });
    throw new RetryableError('the server refused the resume range; starting the file again');
  }
  if (!res.ok) {
    await res.body?.cancel();
    if (isRetryableStatus(res.status)) throw new RetryableError(`HTTP ${res.status} ${res.statusText}`);
    throw opts.source.refusal(res, file.url, file.name);
  }
  if (res.status === 206 && rangeStart(res) !== have) {
    await res.body?.cancel();
    await fs.rm(partial, { force: true });
    throw new RetryableError('the server answered a different range than asked; starting the file again');
  }
  if (res.status === 200 && have > 0) {
    opts.progress.note(`${file.name}: the server cannot resume; downloading it again from the start`);
    await fs.truncate(partial, 0);
    opts.progress.advance(-have);
    return { res, from: 0 };
  }
  return { res, from: have };
}

/** A hash of `file`'s bytes for its checksum, fed with the first `have` bytes already on disk; undefined when there is nothing to check against. */
async function hasherFor(file: PlannedFile, partial: string, have: number): Promise<Hash | undefined> {
  if (!file.checksum || (file.checksum.kind === 'git-sha1' && file.size === undefined)) return undefined;
  const hash = createHasher(file.checksum, file.size ?? 0);
  await hashFilePrefix(hash, partial, have);
  return hash;
}

async function attempt(file: PlannedFile, partial: string, opts: DownloadOptions): Promise<void> {
  let have = await sizeOf(partial);
  if (file.size !== undefined && have > file.size) {
    // Longer than the file can be: not a prefix of it.
    await fs.rm(partial, { force: true });
    have = 0;
  }
  const resumedFrom = have;
  // Hashing what is on disk first (seconds for a large partial) keeps the server from waiting on us.
  let hasher = await hasherFor(file, partial, have);

  if (have !== file.size || have === 0) {
    const guard = stallGuard(opts.stallMs);
    let handle: fs.FileHandle | undefined;
    try {
      let answer: { res: Response; from: number };
      try {
        answer = await request(file, partial, have, guard.signal, opts);
      } catch (err) {
        if (err instanceof RetryableError || err instanceof FetchError) throw err;
        throw new RetryableError(guard.stalled() ? `no answer for ${opts.stallMs / 1000} s` : causeOf(err));
      }
      if (answer.from !== have) {
        have = answer.from;
        hasher = await hasherFor(file, partial, 0);
      }
      opts.progress.file(file.name, file.size, have);
      if (!answer.res.body) throw new RetryableError('the answer has no body');
      handle = await fs.open(partial, have > 0 ? 'a' : 'w');
      const reader = answer.res.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw new RetryableError(guard.stalled() ? `stalled for ${opts.stallMs / 1000} s` : `connection lost: ${causeOf(err)}`);
        }
        if (chunk.done) break;
        guard.poke();
        await handle.write(chunk.value);
        hasher?.update(chunk.value);
        have += chunk.value.length;
        opts.progress.advance(chunk.value.length);
        if (file.size !== undefined && have > file.size) {
          throw new FetchError(`${file.name}: the server sent more than the ${file.size} bytes the listing gives; refused`);
        }
      }
    } finally {
      guard.stop();
      await handle?.close();
    }
  }

  if (file.size !== undefined && have < file.size) throw new RetryableError(`connection closed at ${have} of ${file.size} bytes`);
  if (hasher && file.checksum) {
    const got = hasher.digest('hex');
    if (got !== file.checksum.hex) {
      await fs.rm(partial, { force: true });
      throw new ChecksumError(
        `${file.name}: checksum mismatch (expected ${describeChecksum(file.checksum)}, got ${got}); the file was deleted and nothing was installed`,
        resumedFrom > 0,
      );
    }
  }
}

/** Downloads `file` to `partial` with retries; resolves once the bytes are complete and checked. */
export async function downloadFile(file: PlannedFile, partial: string, opts: DownloadOptions): Promise<void> {
  let retriesLeft = opts.retries;
  let restartedAfterMismatch = false;
  let pause = opts.backoffMs;
  // What the bar holds for this file, so that bytes later deleted (a stale
  // partial, a bad checksum) come off it again.
  let counted = await sizeOf(partial);
  const progress: ProgressSink = {
    ...opts.progress,
    advance: (n) => {
      counted += n;
      opts.progress.advance(n);
    },
  };
  for (;;) {
    try {
      await attempt(file, partial, { ...opts, progress });
      return;
    } catch (err) {
      const actual = await sizeOf(partial);
      if (actual !== counted) progress.advance(actual - counted);
      if (err instanceof ChecksumError && err.resumed && !restartedAfterMismatch) {
        // The kept bytes may come from an older copy of the file: one clean try before refusing.
        restartedAfterMismatch = true;
        opts.progress.note(`${file.name}: checksum did not match after resuming; downloading it again from the start`);
        continue;
      }
      if (!(err instanceof RetryableError)) throw err;
      if (retriesLeft <= 0) {
        throw new FetchError(
          `${file.name}: ${err.message}. ${actual > 0 ? `The ${actual} bytes received are kept; run the same command again to resume.` : 'Run the same command again to retry.'}`,
        );
      }
      retriesLeft--;
      opts.progress.note(`${file.name}: ${err.message}; trying again in ${(pause / 1000).toFixed(1)} s`);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause *= 2;
    }
  }
}
