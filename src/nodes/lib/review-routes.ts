/**
 * The review page and its API under Node-RED's admin routes. Every route
 * needs the permission `redaction-review.approve`: Node-RED's read scope
 * (which grants every `*.read`) is not enough to see unredacted images. With
 * no adminAuth and Node-RED listening beyond loopback, anyone on the network
 * could reach them, so images (and previews, which show the rest of the
 * image) are not served at all.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { NodeAPI } from 'node-red';
import type { Request, Response, NextFunction } from 'express';
import { codeOf } from './errors';

export const REVIEW_PERMISSION = 'redaction-review.approve';

export interface ReviewItemView {
  id: string;
  node: string;
  nodeName: string;
  queuedAt: string;
  deadline?: number;
  file?: string;
  width: number;
  height: number;
  detections: Array<{ label: string; score: number; backend?: string; box: [number, number, number, number] }>;
}

/** What a review node offers the routes. */
export interface Reviewer {
  readonly id: string;
  items(): ReviewItemView[];
  has(itemId: string): boolean;
  image(itemId: string): Promise<Buffer>;
  preview(itemId: string, input: unknown): Promise<Buffer>;
  decide(itemId: string, input: unknown, reviewer: string, outcome: 'approve' | 'reject', note?: string): Promise<void>;
}

const reviewers = new Map<string, Reviewer>();

export const reviewNodes = {
  add(r: Reviewer): void {
    reviewers.set(r.id, r);
  },
  delete(id: string): void {
    reviewers.delete(id);
  },
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether unredacted images may be served: behind adminAuth, or on a loopback address only. */
export function imagesServed(settings: Record<string, unknown>): { ok: boolean; why?: string } {
  if (settings.adminAuth) return { ok: true };
  const host = typeof settings.uiHost === 'string' ? settings.uiHost : undefined;
  if (host && (LOOPBACK.has(host) || host.startsWith('127.'))) return { ok: true };
  return {
    ok: false,
    why: `Node-RED has no adminAuth and listens on ${host ?? 'every address'}: unredacted images are not served to the network. Set adminAuth in settings.js, or uiHost: '127.0.0.1'`,
  };
}

function owner(id: string): Reviewer | undefined {
  for (const r of reviewers.values()) if (r.has(id)) return r;
  return undefined;
}

/** The JSON body: parsed by Node-RED's admin app, or read here (the test runtime has no body parser). */
async function jsonBody(req: Request): Promise<unknown> {
  const parsed = req.body as unknown;
  if (parsed && typeof parsed === 'object' && Object.keys(parsed).length > 0) return parsed;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4 * 1024 * 1024) throw Object.assign(new Error('request body over 4 MB'), { code: 'REVIEW_INVALID' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : {};
}

const STATUS: Record<string, number> = { REVIEW_ITEM_UNKNOWN: 404, REVIEW_INVALID: 400, REVIEW_CLAIM_NOT_HELD: 409 };

function fail(res: Response, err: unknown): void {
  res.status(STATUS[codeOf(err)] ?? 500).json({ error: (err as Error).message, code: codeOf(err) });
}

/** Whether a token's scope grants `permission` ('*', the permission itself, or a list holding either). */
function grants(scope: unknown, permission: string): boolean {
  const list = Array.isArray(scope) ? scope : [scope];
  return list.some((s) => s === '*' || s === permission);
}

export function registerReviewRoutes(RED: NodeAPI): void {
  const settings = RED.settings as unknown as Record<string, unknown>;
  // Node-RED's own check first (no token, or a bad one: 401), at the read level every user has; then ours: a user
  // whose scope does not grant approve (Node-RED's read scope grants every *.read, never this) gets 403.
  const authenticated = RED.auth.needsPermission('redaction-review.read');
  const approver = (req: Request, res: Response, next: NextFunction): void => {
    if (!settings.adminAuth) return next();
    const scope = (req as Request & { authInfo?: { scope?: unknown } }).authInfo?.scope;
    if (grants(scope, REVIEW_PERMISSION)) return next();
    res.status(403).json({ error: `this needs the permission ${REVIEW_PERMISSION}`, code: 'REVIEW_FORBIDDEN' });
  };
  const guard = [authenticated, approver];
  const exposed = (_req: Request, res: Response, next: NextFunction): void => {
    const served = imagesServed(settings);
    if (served.ok) return next();
    res.status(403).json({ error: served.why, code: 'REVIEW_NOT_SERVED' });
  };
  const page = readFileSync(path.join(__dirname, '..', 'review-page', 'index.html'), 'utf8');
  const itemOf = (req: Request): { reviewer: Reviewer; id: string } => {
    const id = String(req.params.id);
    const reviewer = owner(id);
    if (!reviewer) throw Object.assign(new Error(`no image ${id} waits for review (decided already, or never queued)`), { code: 'REVIEW_ITEM_UNKNOWN' });
    return { reviewer, id };
  };
  const who = (req: Request): string => (req as Request & { user?: { username?: string } }).user?.username || 'anonymous';

  RED.httpAdmin.get('/redaction-review', guard, (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').type('html').send(page);
  });
  RED.httpAdmin.get('/redaction-review/items', guard, (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').json({ items: [...reviewers.values()].flatMap((r) => r.items()), imagesServed: imagesServed(settings) });
  });
  /** One queued item's route: found by id (404 if none), answered by `answer`, its errors as JSON with their code's status. */
  const onItem = (answer: (res: Response, reviewer: Reviewer, id: string, req: Request) => Promise<void> | void) => (req: Request, res: Response): void => {
    void (async () => {
      try {
        const { reviewer, id } = itemOf(req);
        res.set('Cache-Control', 'no-store');
        await answer(res, reviewer, id, req);
      } catch (err) {
        fail(res, err);
      }
    })();
  };
  RED.httpAdmin.get('/redaction-review/items/:id', guard, onItem((res, reviewer, id) => void res.json(reviewer.items().find((i) => i.id === id))));
  RED.httpAdmin.get('/redaction-review/items/:id/image', guard, exposed, onItem(async (res, reviewer, id) => {
    res.type('application/octet-stream').send(await reviewer.image(id));
  }));
  RED.httpAdmin.post('/redaction-review/items/:id/preview', guard, exposed, onItem(async (res, reviewer, id, req) => {
    res.type('image/jpeg').send(await reviewer.preview(id, await jsonBody(req)));
  }));
  RED.httpAdmin.post('/redaction-review/items/:id/decision', guard, onItem(async (res, reviewer, id, req) => {
    const body = (await jsonBody(req)) as { decision?: unknown; note?: unknown };
    if (body.decision !== 'approve' && body.decision !== 'reject') throw Object.assign(new Error('decision must be "approve" or "reject"'), { code: 'REVIEW_INVALID' });
    await reviewer.decide(id, body, who(req), body.decision, typeof body.note === 'string' ? body.note.slice(0, 500) : undefined);
    res.json({ ok: true });
  }));
}
