/**
 * A stand-in for the Hugging Face hub on 127.0.0.1, serving a folder as one
 * model repo in the hub's URL layout:
 *   GET /api/models/{repo}/revision/{rev}          -> { id, sha }
 *   GET /api/models/{repo}/tree/{rev}[/{path}]     -> [{ type, path, size, oid, lfs? }], paginated by Link
 *   GET /{repo}/resolve/{rev}/{path}               -> the bytes (Range honoured), or a 302 to a CDN
 * and the same folder as a plain web folder under /plain/, and as the assets
 * of a GitHub release (usls' SAM 3 release, the fetch command's default):
 *   GET /repos/jamjamjon/assets/releases/tags/sam3 -> { id, tag_name, assets: [{ name, size, digest, browser_download_url }] }
 *   GET /jamjamjon/assets/releases/download/sam3/{name} -> a 302 to the bytes, as GitHub answers.
 * It can gate files
 * behind a token, cut a transfer once, serve corrupt bytes, and records every
 * request so tests can see what the client asked for.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export const COMMIT = '0123456789abcdef0123456789abcdef01234567';

export interface RecordedRequest {
  path: string;
  range?: string;
  authorization?: string;
}

export interface HubServerOptions {
  /** Folder served as the repo's files. */
  dir: string;
  repo?: string;
  /** Gated repo: files answer 401 without `Authorization: Bearer <token>`. */
  token?: string;
  /** Tokens that are valid but whose account has not accepted the licence: 403. */
  deniedTokens?: string[];
  /** Also gate the API routes (the real hub keeps model metadata public). */
  gateApi?: boolean;
  /** Entries per tree page. */
  pageSize?: number;
  /** Where LFS files redirect to (another HubServer's origin); default: served here. */
  cdnOrigin?: string;
  /** Answer every request with the whole file, as simple web servers do. */
  ignoreRange?: boolean;
}

function gitBlobSha1(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

const isLfs = (name: string): boolean => /\.onnx(\.data|_data)?$/.test(name);

async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(path.join(dir, e.name), rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

export class HubServer {
  readonly requests: RecordedRequest[] = [];
  /** file path -> bytes after which the next transfer of it is cut (once). */
  readonly cutOnce = new Map<string, number>();
  /** file path -> bytes after which the next transfer of it goes silent, connection open (once). */
  readonly stallOnce = new Map<string, number>();
  /** file paths served with one byte changed. */
  readonly corrupt = new Set<string>();
  /** release assets listed one byte smaller than they are. */
  readonly misSized = new Set<string>();
  private server?: http.Server;
  url = '';

  constructor(readonly opts: HubServerOptions) {}

  get repo(): string {
    return this.opts.repo ?? 'test-org/sam3-onnx';
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500).end(err.message);
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Requests whose path ends with `file`. */
  requestsFor(file: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(`/${file}`));
  }

  private refuseAuth(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const { token, deniedTokens = [] } = this.opts;
    if (!token) return false;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (given === token) return false;
    if (given && deniedTokens.includes(given)) {
      res.writeHead(403, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${this.repo} is restricted and you are not in the authorized list.` });
    } else if (given) {
      res.writeHead(401, { 'x-error-message': 'Invalid credentials in Authorization header' });
    } else {
      res.writeHead(401, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${this.repo} is restricted. You must be authenticated to access it.` });
    }
    res.end();
    return true;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const p = decodeURIComponent(url.pathname);
    this.requests.push({ path: p, range: req.headers.range, authorization: req.headers.authorization });
    const api = `/api/models/${this.repo}/`;
    if (p.startsWith(api)) {
      if (this.opts.gateApi && this.refuseAuth(req, res)) return;
      return this.api(p.slice(api.length), url, res);
    }
    const resolve = `/${this.repo}/resolve/`;
    if (p.startsWith(resolve)) {
      if (this.refuseAuth(req, res)) return;
      const [rev, ...rest] = p.slice(resolve.length).split('/');
      if (rev !== COMMIT && rev !== 'main') return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
      const file = rest.join('/');
      if (this.opts.cdnOrigin && isLfs(file)) return void res.writeHead(302, { location: `${this.opts.cdnOrigin}/cdn/${file}` }).end();
      return this.serveFile(file, req, res);
    }
    if (p === '/repos/jamjamjon/assets/releases/tags/sam3') return this.release(res);
    const download = '/jamjamjon/assets/releases/download/sam3/';
    if (p.startsWith(download)) return void res.writeHead(302, { location: `${this.url}/cdn/${p.slice(download.length)}` }).end();
    if (p.startsWith('/cdn/')) return this.serveFile(p.slice('/cdn/'.length), req, res);
    if (p.startsWith('/plain/')) return this.serveFile(p.slice('/plain/'.length), req, res);
    res.writeHead(404).end();
  }

  private async api(rest: string, url: URL, res: http.ServerResponse): Promise<void> {
    const json = (body: unknown, headers: Record<string, string> = {}): void =>
      void res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const [kind, rev, ...sub] = rest.split('/');
    if (rev !== COMMIT && rev !== 'main') return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    if (kind === 'revision') return json({ id: this.repo, sha: COMMIT });
    if (kind !== 'tree') return void res.writeHead(404).end();
    const under = sub.join('/');
    const all = (await walk(this.opts.dir)).filter((f) => !under || f.startsWith(`${under}/`));
    const entries = await Promise.all(
      all.map(async (f) => {
        const data = await fs.readFile(path.join(this.opts.dir, f));
        const sha256 = createHash('sha256').update(data).digest('hex');
        return isLfs(f)
          ? { type: 'file', path: f, size: data.length, oid: gitBlobSha1(Buffer.from(sha256)), lfs: { oid: sha256, size: data.length, pointerSize: 134 } }
          : { type: 'file', path: f, size: data.length, oid: gitBlobSha1(data) };
      }),
    );
    const size = this.opts.pageSize ?? 1000;
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const page = entries.slice(start, start + size);
    const headers: Record<string, string> = {};
    if (start + size < entries.length) {
      const next = new URL(url.toString());
      next.searchParams.set('cursor', String(start + size));
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    json(page, headers);
  }

  private async release(res: http.ServerResponse): Promise<void> {
    const files = (await walk(this.opts.dir)).filter((f) => !f.includes('/'));
    const assets = await Promise.all(files.map(async (name) => {
      const data = await fs.readFile(path.join(this.opts.dir, name));
      return {
        name,
        size: data.length - (this.misSized.has(name) ? 1 : 0),
        digest: `sha256:${createHash('sha256').update(data).digest('hex')}`,
        browser_download_url: `${this.url}/jamjamjon/assets/releases/download/sam3/${encodeURIComponent(name)}`,
      };
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 7, tag_name: 'sam3', assets }));
  }

  private async serveFile(file: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let data: Buffer;
    try {
      data = await fs.readFile(path.join(this.opts.dir, file));
    } catch {
      return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    }
    if (this.corrupt.has(file)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const m = this.opts.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (start >= data.length) return void res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      const end = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
      data = data.subarray(start, end + 1);
    } else {
      res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
    }
    const cut = this.cutOnce.get(file);
    if (cut !== undefined && cut < data.length) {
      this.cutOnce.delete(file);
      // Send part of the body, let it reach the client, then drop the connection mid-file.
      res.write(data.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    const stall = this.stallOnce.get(file);
    if (stall !== undefined && stall < data.length) {
      this.stallOnce.delete(file);
      res.write(data.subarray(0, stall)); // and then nothing: the client must notice on its own
      return;
    }
    res.end(data);
  }
}
