/**
 * A Hugging Face model repository as a model source: the revision is pinned
 * to a commit first, so that every file (and a later resume) comes from the
 * same snapshot; the tree API gives sizes, LFS sha256s and git blob ids.
 * Gated repos (SAM 3's weights are) answer 401/403 until the account behind
 * HF_TOKEN has accepted the licence; those answers become instructions.
 */
import { normaliseHex, type Checksum } from './checksum';
import { FetchError, getJson, type ListedFile, type ModelSource } from './source';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface HubOptions {
  /** 'owner/name'. */
  repo: string;
  /** Branch, tag or commit. Default 'main'. */
  revision?: string;
  /** Default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Default HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN). */
  token?: string;
  /** Only files under this folder of the repo ('onnx'); they land flat in the model folder. */
  subfolder?: string;
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; sha256?: string; size?: number };
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function isRepoId(s: string): boolean {
  return REPO_ID.test(s);
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/** The URL of the next page from a `Link: <...>; rel="next"` header, as the hub paginates long listings. */
function nextPage(res: Response): string | undefined {
  const link = res.headers.get('link') ?? '';
  return /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1];
}

export class HubSource implements ModelSource {
  private readonly repo: string;
  private readonly revision: string;
  private readonly endpoint: string;
  private readonly token?: string;
  private readonly subfolder: string;
  private commit?: string;

  constructor(opts: HubOptions, env: NodeJS.ProcessEnv = process.env) {
    if (!isRepoId(opts.repo)) {
      throw new FetchError(`'${opts.repo}' is not a Hugging Face repo id (owner/name); for a plain web folder use --url`);
    }
    this.repo = opts.repo;
    this.revision = opts.revision || 'main';
    this.endpoint = (opts.endpoint || env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
    this.token = opts.token || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
    this.subfolder = (opts.subfolder ?? '').replace(/^\/+|\/+$/g, '');
  }

  get describe(): string {
    const at = this.commit && this.commit !== this.revision ? `${this.revision} (commit ${this.commit.slice(0, 10)})` : this.revision;
    return `${this.endpoint}/${this.repo}${this.subfolder ? `/${this.subfolder}` : ''} at ${at}`;
  }

  get id(): string {
    return `hf:${this.endpoint}/${this.repo}@${this.commit ?? this.revision}/${this.subfolder}`;
  }

  headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async list(): Promise<ListedFile[]> {
    const api = `${this.endpoint}/api/models/${this.repo}`;
    const info = await getJson(this, `${api}/revision/${encodeURIComponent(this.revision)}`, `the revision '${this.revision}' of ${this.repo}`);
    const sha = (info?.body as { sha?: unknown } | undefined)?.sha;
    this.commit = typeof sha === 'string' && sha ? sha : this.revision;
    const files: ListedFile[] = [];
    const prefix = this.subfolder ? `${this.subfolder}/` : '';
    let url: string | undefined = `${api}/tree/${encodeURIComponent(this.commit)}${prefix ? `/${encodePath(this.subfolder)}` : ''}?recursive=true`;
    while (url) {
      const page = await getJson(this, url, `the file list of ${this.repo}`);
      if (!page || !Array.isArray(page.body)) throw new FetchError(`the file list of ${this.repo} from ${url} is not a list`);
      for (const e of page.body as TreeEntry[]) {
        if (e.type !== 'file' || typeof e.path !== 'string' || !e.path.startsWith(prefix)) continue;
        const lfsSha = e.lfs?.oid ?? e.lfs?.sha256;
        const checksum: Checksum | undefined = lfsSha
          ? { kind: 'sha256', hex: normaliseHex(lfsSha) }
          : e.oid
            ? { kind: 'git-sha1', hex: e.oid.toLowerCase() }
            : undefined;
        files.push({
          path: e.path.slice(prefix.length),
          url: `${this.endpoint}/${this.repo}/resolve/${encodeURIComponent(this.commit)}/${encodePath(e.path)}`,
          size: typeof e.size === 'number' ? e.size : e.lfs?.size,
          checksum,
        });
      }
      const next = nextPage(page.res);
      url = next ? new URL(next, url).toString() : undefined;
    }
    return files;
  }

  refusal(res: Response, url: string, what: string): Error {
    const code = res.headers.get('x-error-code') ?? '';
    const said = res.headers.get('x-error-message');
    const hub = said ? ` The hub says: "${said}"` : '';
    const page = `${this.endpoint}/${this.repo}`;
    if (res.status === 401 || (res.status === 404 && code === 'RepoNotFound' && !this.token)) {
      if (this.token) {
        return new FetchError(
          `${this.endpoint} refused the token in HF_TOKEN for ${what} (HTTP 401): it is invalid or expired. ` +
            `Create a read token at ${this.endpoint}/settings/tokens and set HF_TOKEN to it.${hub}`,
        );
      }
      return new FetchError(
        `${this.repo} needs a Hugging Face login for ${what} (HTTP ${res.status}): SAM 3 weights are gated, so the repo may be gated or private. ` +
          `1) Sign in at ${page} and accept the licence (SAM License) there. ` +
          `2) Create a read token at ${this.endpoint}/settings/tokens. ` +
          `3) Run again with the token in the HF_TOKEN environment variable (HF_TOKEN=hf_... npx --no-install sam3-model fetch ${this.repo}).${hub}`,
      );
    }
    if (res.status === 403) {
      return new FetchError(
        `your Hugging Face account has no access to ${this.repo} yet (HTTP 403 for ${what}). ` +
          `Accept the licence at ${page} with the account that owns the token in HF_TOKEN; some gated repos also wait for the author's approval.${hub}`,
      );
    }
    if (res.status === 404) {
      const which =
        code === 'RevisionNotFound'
          ? `the revision '${this.revision}' does not exist in ${this.repo}`
          : code === 'EntryNotFound'
            ? `${url} is not in ${this.repo}`
            : `${this.repo} was not found (check the spelling; a private repo also needs HF_TOKEN)`;
      return new FetchError(`${which} (HTTP 404 for ${what}).${hub}`);
    }
    return new FetchError(`HTTP ${res.status} ${res.statusText} from ${url} for ${what}.${hub}`);
  }
}
