/**
 * What `fetch` needs from a place that publishes model files: a listing (with
 * sizes and checksums where the place has them), the headers that authorise a
 * file request, and a way to turn a refusal into advice a person can act on.
 */
import type { Checksum } from './checksum';

export interface ListedFile {
  /** Path relative to the model's root at the source ('onnx/x.onnx' for a file in a subfolder). */
  path: string;
  url: string;
  size?: number;
  checksum?: Checksum;
}

export interface ModelSource {
  /** For messages: 'facebook/sam3 at main (commit 1a2b3c4)' or a URL. */
  readonly describe: string;
  /** The exact content addressed (repo and commit, or URL): partial files from another one are discarded. */
  readonly id: string;
  /** Lists the files for `variant`; a source that cannot list everything may look only for that variant's names. */
  list(variant: string | undefined): Promise<ListedFile[]>;
  /** Headers for a file request (authorisation). */
  headers(): Record<string, string>;
  /** The error to raise when a request for `what` at `url` got `res`. */
  refusal(res: Response, url: string, what: string): Error;
}

/** An error whose message is the whole story for the user: the CLI prints it as it is. */
export class FetchError extends Error {
  readonly code: string = 'FETCH_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

/** A failure worth trying again (network drop, stall, 5xx): the partial file stays for the next try. */
export class RetryableError extends Error {
  readonly code = 'FETCH_RETRYABLE';
  constructor(message: string) {
    super(message);
    this.name = 'RetryableError';
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** GETs JSON (or undefined on 404) with the source's refusal messages for anything else. */
export async function getJson(source: Pick<ModelSource, 'headers' | 'refusal'>, url: string, what: string, allow404 = false): Promise<{ body: unknown; res: Response } | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { ...source.headers(), accept: 'application/json' } });
  } catch (err) {
    throw new FetchError(`cannot reach ${new URL(url).origin} for ${what}: ${causeOf(err)}`);
  }
  if (allow404 && res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw source.refusal(res, url, what);
  }
  try {
    return { body: (await res.json()) as unknown, res };
  } catch (err) {
    throw new FetchError(`${what} at ${url} is not JSON: ${(err as Error).message}`);
  }
}

/** Node's fetch hides the socket error in `cause`; that is the part that says what happened. */
export function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e.cause ? `${e.cause.code ?? ''} ${e.cause.message ?? ''}`.trim() : '';
  return cause ? `${e.message ?? String(err)} (${cause})` : (e.message ?? String(err));
}
