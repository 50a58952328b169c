/**
 * Images waiting for a person's decision, on disk so that they survive a
 * restart: one folder per item holding the image bytes and the message
 * (as JSON) it came with. Folders are 0700 and files 0600: the images are
 * unredacted, so only the Node-RED user may read them. Bounded in count and
 * bytes; an item's folder is removed once it is decided.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write';
import { CodedError } from '../common/coded-error';

export interface QueueLimits {
  maxItems: number;
  maxBytes: number;
}

export interface QueuedItem<M = Record<string, unknown>> {
  id: string;
  queuedAt: string;
  /** When the item decides itself (its node's time-out), ms since the epoch; absent: never. */
  deadline?: number;
  /** Bytes of the image. */
  bytes: number;
  /** Everything else the item carries: the message without its image, the detections, the image's size. */
  meta: M;
}

const IMAGE = 'image';
const ITEM = 'item.json';
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

export class ReviewQueue<M = Record<string, unknown>> {
  private readonly items = new Map<string, QueuedItem<M>>();
  private bytes = 0;

  private constructor(
    readonly dir: string,
    private readonly limits: QueueLimits,
  ) {}

  /** Opens the queue in `dir`, taking up what an earlier run left there; a folder of a half-written item is removed. */
  static async open<M>(dir: string, limits: QueueLimits): Promise<ReviewQueue<M>> {
    await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    await fs.chmod(dir, PRIVATE_DIR);
    const queue = new ReviewQueue<M>(dir, limits);
    for (const name of await fs.readdir(dir)) {
      const folder = path.join(dir, name);
      try {
        const item = JSON.parse(await fs.readFile(path.join(folder, ITEM), 'utf8')) as QueuedItem<M>;
        const st = await fs.stat(path.join(folder, IMAGE));
        if (item.id !== name || st.size !== item.bytes) throw new Error('inconsistent');
        queue.items.set(item.id, item);
        queue.bytes += item.bytes;
      } catch {
        // Written only in part (a crash while queuing): the message it held was never acknowledged.
        await fs.rm(folder, { recursive: true, force: true });
      }
    }
    return queue;
  }

  get size(): number {
    return this.items.size;
  }

  list(): Array<QueuedItem<M>> {
    return [...this.items.values()].sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
  }

  get(id: string): QueuedItem<M> | undefined {
    return this.items.get(id);
  }

  /** Queues an image; throws QUEUE_FULL (naming the limit) when it would not fit. */
  async add(image: Buffer, meta: M, deadline?: number): Promise<QueuedItem<M>> {
    if (this.items.size >= this.limits.maxItems) {
      throw new CodedError('QUEUE_FULL', `the review queue is full (${this.items.size} of ${this.limits.maxItems} images wait for a decision): decide some, or raise the limit`);
    }
    if (this.bytes + image.length > this.limits.maxBytes) {
      const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
      throw new CodedError('QUEUE_FULL', `the review queue is full (${mb(this.bytes)} MB of ${mb(this.limits.maxBytes)} MB; this image needs ${mb(image.length)} MB): decide some, or raise the limit`);
    }
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const item: QueuedItem<M> = { id, queuedAt: new Date().toISOString(), bytes: image.length, meta, ...(deadline !== undefined ? { deadline } : {}) };
    const folder = path.join(this.dir, id);
    try {
      await fs.mkdir(folder, { mode: PRIVATE_DIR });
      await writeFileAtomic(path.join(folder, IMAGE), image, { mode: PRIVATE_FILE });
      // The record last: a folder without one is a crash while queuing, and is removed at the next open.
      await writeFileAtomic(path.join(folder, ITEM), JSON.stringify(item), { mode: PRIVATE_FILE });
    } catch (err) {
      await fs.rm(folder, { recursive: true, force: true });
      throw err;
    }
    this.items.set(id, item);
    this.bytes += item.bytes;
    return item;
  }

  async image(id: string): Promise<Buffer> {
    if (!this.items.has(id)) throw new CodedError('REVIEW_ITEM_UNKNOWN', `no image ${id} waits for review here (decided already, or never queued)`);
    return fs.readFile(path.join(this.dir, id, IMAGE));
  }

  /** Takes an item out (it was decided): its folder goes, and it is returned once only. */
  async take(id: string): Promise<QueuedItem<M> | undefined> {
    const item = this.items.get(id);
    if (!item) return undefined;
    this.items.delete(id);
    this.bytes -= item.bytes;
    await fs.rm(path.join(this.dir, id), { recursive: true, force: true });
    return item;
  }
}
