/**
 * The default place to get SAM 3: the usls project's public GitHub release
 * (github.com/jamjamjon/assets, tag sam3), which publishes the "v2" 3-file
 * split this engine runs, with no account or token. Its assets are listed at
 * run time through GitHub's releases API (name, size, and a sha256 digest
 * where GitHub gives one): which precision variants exist cannot be known
 * ahead. The same release also holds an older 4-file set
 * (`geometry-encoder.onnx`, `decoder.onnx`) that this engine does not run;
 * only the v2 graphs and the tokenizer files are ever taken.
 */
import { normaliseHex } from './checksum';
import { FetchError, getJson, type ListedFile, type ModelSource } from './source';

export const DEFAULT_RELEASE_API = 'https://api.github.com';
export const RELEASE_REPO = 'jamjamjon/assets';
export const RELEASE_TAG = 'sam3';
/** Overrides DEFAULT_RELEASE_API (a mirror of GitHub's API, or a test server). */
export const RELEASE_API_ENV = 'SAM3_RELEASE_API';

/** The v2 graphs (any one variant suffix), their external data, and the tokenizer files. */
const WANTED = /^(?:(?:vision-encoder|text-encoder|geo-encoder-mask-decoder)(?:-[A-Za-z0-9_]+)?\.onnx(?:\.data|_data)?|tokenizer\.json|tokenizer_config\.json|config\.json)$/;

interface Asset {
  name?: unknown;
  size?: unknown;
  digest?: unknown;
  browser_download_url?: unknown;
}

export class ReleaseSource implements ModelSource {
  private readonly api: string;
  private tagId?: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const base = (env[RELEASE_API_ENV] || DEFAULT_RELEASE_API).replace(/\/+$/, '');
    try {
      new URL(base);
    } catch {
      throw new FetchError(`${RELEASE_API_ENV}='${base}' is not a URL`);
    }
    this.api = base;
  }

  get describe(): string {
    return `the usls project's public release (github.com/${RELEASE_REPO}, release ${RELEASE_TAG})`;
  }

  get id(): string {
    return `release:${this.api}/${RELEASE_REPO}/${RELEASE_TAG}${this.tagId ? `@${this.tagId}` : ''}`;
  }

  headers(): Record<string, string> {
    return { 'x-github-api-version': '2022-11-28' };
  }

  refusal(res: Response, url: string, what: string): Error {
    const limited = res.status === 403 || res.status === 429 ? " (GitHub's API limits unauthenticated requests per hour: try again later)" : '';
    return new FetchError(`HTTP ${res.status} ${res.statusText} from ${url} for ${what}${limited}`);
  }

  async list(): Promise<ListedFile[]> {
    const url = `${this.api}/repos/${RELEASE_REPO}/releases/tags/${RELEASE_TAG}`;
    const got = await getJson(this, url, `the ${RELEASE_TAG} release's list of files`);
    const body = got?.body as { id?: unknown; assets?: unknown } | undefined;
    if (!body || !Array.isArray(body.assets)) throw new FetchError(`${url} did not list the release's files`);
    if (typeof body.id === 'number' || typeof body.id === 'string') this.tagId = String(body.id);
    const files: ListedFile[] = [];
    for (const a of body.assets as Asset[]) {
      if (typeof a.name !== 'string' || !WANTED.test(a.name) || typeof a.browser_download_url !== 'string') continue;
      const digest = typeof a.digest === 'string' && /^sha256:[0-9a-f]{64}$/i.test(a.digest) ? normaliseHex(a.digest) : undefined;
      files.push({
        path: a.name,
        url: a.browser_download_url,
        size: typeof a.size === 'number' ? a.size : undefined,
        checksum: digest ? { kind: 'sha256', hex: digest } : undefined,
      });
    }
    return files;
  }
}
