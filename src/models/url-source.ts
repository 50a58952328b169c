/**
 * A plain web folder as a model source (a mirror, an intranet share, a
 * GitHub release). It may publish:
 *   - manifest.json: {"files": [{"path": "vision-encoder-fp16.onnx", "size": 123, "sha256": "..."}, ...]}
 *     listing every file it offers (sizes and sha256 optional);
 *   - SHA256SUMS: `sha256sum` output ("<hex>  <name>" per line).
 * With no manifest, the contract's file names for the asked variant are
 * probed (one-byte range requests, so a 3 GB file is not fetched to learn its
 * size). `sam3-model manifest DIR` writes both files for a folder to publish.
 */
import { normaliseHex, type Checksum } from './checksum';
import { GRAPH_STEMS } from '../engine';
import { causeOf, FetchError, getJson, type ListedFile, type ModelSource } from './source';

export const MANIFEST = 'manifest.json';
export const SUMS = 'SHA256SUMS';
const OPTIONAL = ['tokenizer_config.json', 'config.json', 'LICENSE', 'LICENSE.txt', 'LICENSE.md'];

export interface ManifestEntry {
  path: string;
  size?: number;
  sha256?: string;
}

export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) sums.set(m[2].trim().replace(/^\.\//, ''), m[1].toLowerCase());
  }
  return sums;
}

function parseManifest(body: unknown, url: string): ManifestEntry[] {
  const files = (body as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw new FetchError(`${url} has no "files" list`);
  return files.map((f: unknown, i) => {
    const e = f as { path?: unknown; size?: unknown; sha256?: unknown };
    if (typeof e?.path !== 'string' || e.path === '' || e.path.split('/').includes('..')) {
      throw new FetchError(`${url}: files[${i}] has no usable "path"`);
    }
    return {
      path: e.path,
      size: typeof e.size === 'number' ? e.size : undefined,
      sha256: typeof e.sha256 === 'string' ? normaliseHex(e.sha256) : undefined,
    };
  });
}

export class UrlSource implements ModelSource {
  readonly base: string;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new FetchError(`'${url}' is not a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new FetchError(`'${url}' is not an http(s) URL`);
    this.base = parsed.toString().replace(/\/?$/, '/');
  }

  get describe(): string {
    return this.base;
  }

  get id(): string {
    return `url:${this.base}`;
  }

  headers(): Record<string, string> {
    return {};
  }

  refusal(res: Response, url: string, what: string): Error {
    const hint = res.status === 401 || res.status === 403 ? ' (the server wants a login this tool does not send; download with a browser or use a Hugging Face repo id)' : '';
    return new FetchError(`HTTP ${res.status} ${res.statusText} from ${url} for ${what}${hint}`);
  }

  async list(variant: string | undefined): Promise<ListedFile[]> {
    const manifest = await getJson(this, this.base + MANIFEST, MANIFEST, true);
    const sums = await this.sums();
    const checksum = (p: string, own?: string): Checksum | undefined => {
      const hex = own ?? sums.get(p);
      return hex ? { kind: 'sha256', hex } : undefined;
    };
    if (manifest) {
      return parseManifest(manifest.body, this.base + MANIFEST).map((e) => ({
        path: e.path,
        url: new URL(e.path.split('/').map(encodeURIComponent).join('/'), this.base).toString(),
        size: e.size,
        checksum: checksum(e.path, e.sha256),
      }));
    }
    const suffix = variant ? `-${variant.replace(/^-/, '')}` : '';
    const graphs = Object.values(GRAPH_STEMS).map((stem) => `${stem}${suffix}.onnx`);
    const names = [...graphs, ...graphs.flatMap((g) => [`${g}.data`, `${g}_data`]), 'tokenizer.json', ...OPTIONAL];
    const found: ListedFile[] = [];
    for (const name of names) {
      const url = new URL(encodeURIComponent(name), this.base).toString();
      const size = await this.probe(url, name);
      if (size !== null) found.push({ path: name, url, size, checksum: checksum(name) });
    }
    return found;
  }

  private async sums(): Promise<Map<string, string>> {
    const url = this.base + SUMS;
    const res = await fetch(url).catch((err: unknown) => {
      throw new FetchError(`cannot reach ${new URL(url).origin}: ${causeOf(err)}`);
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return new Map();
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.refusal(res, url, SUMS);
    }
    return parseSums(await res.text());
  }

  /** The size of the file at `url` (undefined if the server will not say), or null when it is not there. */
  private async probe(url: string, name: string): Promise<number | undefined | null> {
    let res: Response;
    try {
      res = await fetch(url, { headers: { range: 'bytes=0-0' } });
    } catch (err) {
      throw new FetchError(`cannot reach ${new URL(url).origin} for ${name}: ${causeOf(err)}`);
    }
    await res.body?.cancel();
    if (res.status === 404 || res.status === 410) return null;
    if (res.status === 416) return 0;
    if (!res.ok) throw this.refusal(res, url, name);
    const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1];
    if (total !== undefined) return Number(total);
    const length = res.headers.get('content-length');
    return res.status === 200 && length !== null ? Number(length) : undefined;
  }
}
