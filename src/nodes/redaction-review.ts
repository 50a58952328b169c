/**
 * redaction-review: holds an image with its detections until a person
 * decides on the review page (see lib/review-routes.ts), in a queue on disk
 * that survives a restart. Approve sends the message on with the corrected
 * detections; reject sends it to the second output with msg.error set, so
 * that a watched folder files the original under failed/.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import sharp from 'sharp';
import { confinePath } from '../common/path-guard';
import { CodedError } from '../common/coded-error';
import { inspectImage, isRawFrame, readImageBytes, uprightSize } from '../common/image-source';
import type { Instance } from '../common/types';
import { redactImage, validateInstances, type RedactMode, type RedactOptions } from '../redact';
import { applyReview, readReviewInput, ReviewQueue } from '../review';
import { liveClaims } from '../watch/live-claims';
import { rootsFromSettings } from './lib/allowed-roots';
import { claimOf } from './lib/claim-of';
import { failMessage, nodeError } from './lib/errors';
import { imageLimits } from './lib/image-limits';
import { numberField } from './lib/properties';
import { redactSettings } from './lib/redact-settings';
import { registerReviewRoutes, reviewNodes, type ReviewItemView } from './lib/review-routes';
import { ThrottledStatus } from './lib/throttled-status';

interface ReviewDef extends NodeDef {
  maxItems?: string | number;
  maxMb?: string | number;
  autoApprove?: boolean;
  autoApproveAbove?: string | number;
  showEmpty?: boolean;
  /** Seconds an image may wait; 0 or blank: for ever. */
  timeout?: string | number;
  timeoutOutcome?: 'approve' | 'reject';
  /** The mask-blur node whose settings the preview uses; blank: this node's own mode. */
  previewNode?: string;
  mode?: RedactMode;
}

/** What a queued item keeps besides its image. */
interface Meta {
  /** The message, without its image, as JSON. */
  msg: Record<string, unknown>;
  detections: Instance[];
  width: number;
  height: number;
  /** The file the user dropped (a watched folder's), or the path the image came from. */
  file?: string;
  /** The watched-folder claim the image belongs to, if any. */
  claimed?: boolean;
}

type ReviewMsg = NodeMessageInFlow & { detections?: unknown; review?: unknown; claim?: { token?: string; relative?: string }; filename?: unknown; error?: unknown };

export = function register(RED: NodeAPI): void {
  function RedactionReview(this: Node, config: ReviewDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const settings = RED.settings as unknown as Record<string, unknown>;
    const userDir = typeof settings.userDir === 'string' ? settings.userDir : path.join(os.homedir(), '.node-red');
    const limits = imageLimits(RED);
    const roots = rootsFromSettings(RED);
    const status = new ThrottledStatus((s) => node.status(s));
    const autoAbove = numberField(config.autoApproveAbove, 0.9);
    const timeoutMs = Math.max(0, numberField(config.timeout, 0)) * 1000;
    const timers = new Map<string, NodeJS.Timeout>();
    let closed = false;

    const opening = ReviewQueue.open<Meta>(path.join(userDir, 'redaction-review', node.id), {
      maxItems: Math.max(1, numberField(config.maxItems, 100)),
      maxBytes: Math.max(1, numberField(config.maxMb, 1024)) * 1024 * 1024,
    });
    opening.catch((err: Error) => node.error(RED._('redaction-review.errors.queue', { message: err.message })));
    let opened: ReviewQueue<Meta> | undefined;
    void opening.then((q) => (opened = q), () => undefined);

    const showCount = (queue: ReviewQueue<Meta>): void => {
      status.set(queue.size > 0
        ? { fill: 'yellow', shape: 'ring', text: RED._('redaction-review.status.waiting', { count: queue.size }) }
        : { fill: 'green', shape: 'dot', text: RED._('redaction-review.status.empty') });
    };

    const decide = async (id: string, input: unknown, reviewer: string, outcome: 'approve' | 'reject', note?: string): Promise<void> => {
      const queue = await opening;
      const item = queue.get(id);
      if (!item) throw new CodedError('REVIEW_ITEM_UNKNOWN', `no image ${id} waits for review (decided already, or never queued)`);
      const applied = applyReview(item.meta.detections, item.meta.width, item.meta.height, readReviewInput(input, item.meta.detections.length));
      const msg = { ...item.meta.msg } as ReviewMsg & Record<string, unknown>;
      msg.payload = await queue.image(id);
      if (item.meta.claimed) {
        // A restart takes the claim up under a new token: the message follows it.
        const live = liveClaims.parkedFor(id);
        if (!live) throw new CodedError('REVIEW_CLAIM_NOT_HELD', `the watched-folder claim of ${item.meta.file ?? 'this image'} is not held by this Node-RED yet (it is taken up again shortly after a start): try again in a minute`);
        msg.claim = { ...msg.claim, token: live.token };
        await live.unpark();
      }
      msg.detections = applied.detections;
      msg.review = {
        decision: outcome === 'approve' ? 'approved' : 'rejected',
        reviewer,
        at: new Date().toISOString(),
        changes: applied.changes,
        removed: applied.removed,
        ...(note ? { note } : {}),
      };
      clearTimeout(timers.get(id));
      timers.delete(id);
      if (outcome === 'approve') {
        node.send([msg, null]);
      } else {
        // For a watched folder wired to the second output: the original goes to failed/ with this reason.
        msg.error = { message: RED._('redaction-review.rejected', { reviewer, note: note ? `: ${note}` : '' }), source: { id: node.id, type: 'redaction-review', name: node.name } };
        node.send([null, msg]);
      }
      // Sent first, removed after: a crash in between shows the item again rather than losing it.
      await queue.take(id);
      showCount(queue);
    };

    const schedule = (id: string, deadline: number | undefined): void => {
      if (deadline === undefined || closed) return;
      const outcome = config.timeoutOutcome === 'approve' ? 'approve' : 'reject';
      const timer = setTimeout(() => {
        void decide(id, undefined, RED._('redaction-review.timeout-reviewer'), outcome).catch((err: Error & { code?: string }) => {
          // Due while its watched-folder claim is still being taken up after a start: again shortly.
          if (err.code === 'REVIEW_CLAIM_NOT_HELD') return schedule(id, Date.now() + 5000);
          node.warn(err.message);
        });
      }, Math.max(0, deadline - Date.now()));
      timers.set(id, timer);
    };

    void opening.then((queue) => {
      for (const item of queue.list()) schedule(item.id, item.deadline);
      showCount(queue);
    }, () => undefined);

    reviewNodes.add({
      id: node.id,
      items: (): ReviewItemView[] => {
        const queue = opened;
        if (!queue) return [];
        return queue.list().map((item) => ({
          id: item.id,
          node: node.id,
          nodeName: node.name || 'redaction-review',
          queuedAt: item.queuedAt,
          deadline: item.deadline,
          file: item.meta.file,
          width: item.meta.width,
          height: item.meta.height,
          detections: item.meta.detections.map((d) => ({ label: d.label, score: d.score, backend: d.backend, box: d.box })),
        }));
      },
      has: (id) => opened?.get(id) !== undefined,
      image: async (id) => (await opening).image(id),
      preview: async (id, input) => {
        const queue = await opening;
        const item = queue.get(id);
        if (!item) throw new CodedError('REVIEW_ITEM_UNKNOWN', `no image ${id} waits for review`);
        const applied = applyReview(item.meta.detections, item.meta.width, item.meta.height, readReviewInput(input, item.meta.detections.length));
        // The mask-blur node the flow uses, so that the preview is what it will produce; else this node's own mode.
        const options: RedactOptions = { ...(redactSettings.get(config.previewNode) ?? { mode: config.mode || 'blur' }), ...limits, keepMetadata: false };
        const result = await redactImage(await queue.image(id), applied.detections, options);
        return sharp(result.image as Buffer).resize(1600, 1600, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer();
      },
      decide,
    });
    node.on('input', (raw, send, done) => {
      const msg = raw as ReviewMsg;
      const claim = claimOf(msg);
      if (claim === 'ended') return done();
      const release = claim?.hold(`${node.type} ${node.id}`);
      const work = async (): Promise<void> => {
        const queue = await opening;
        const input = msg.payload;
        if (isRawFrame(input)) throw nodeError(RED, 'REVIEW_INVALID', 'redaction-review.errors.frame');
        let image: Buffer;
        if (Buffer.isBuffer(input)) image = input;
        else if (typeof input === 'string') image = await readImageBytes(await confinePath('image', input, roots), limits);
        else throw nodeError(RED, 'INPUT_MISSING', 'redaction-review.errors.no-image');
        // The same header checks as detection and redaction (format, pages, pixel limit), then the size a viewer sees.
        const { width, height } = uprightSize(await inspectImage(image, limits));
        if (!Array.isArray(msg.detections)) throw nodeError(RED, 'DETECTIONS_INVALID', 'redaction-review.errors.no-detections');
        const detections = validateInstances(msg.detections as Instance[], width, height);
        const at = new Date().toISOString();
        if (config.autoApprove && detections.length > 0 && detections.every((d) => d.score >= autoAbove)) {
          msg.review = { decision: 'auto-approved', reviewer: 'auto', threshold: autoAbove, at };
          return void send([msg, null]);
        }
        if (detections.length === 0 && config.showEmpty === false) {
          msg.review = { decision: 'passed', reviewer: 'auto', reason: RED._('redaction-review.nothing-found'), at };
          return void send([msg, null]);
        }
        // The message waits on disk without its image (kept beside it): it must be plain JSON.
        const rest: Record<string, unknown> = { ...(msg as Record<string, unknown>) };
        delete rest.payload;
        let stored: Record<string, unknown>;
        try {
          stored = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
        } catch (err) {
          throw nodeError(RED, 'REVIEW_INVALID', 'redaction-review.errors.not-json', { message: (err as Error).message });
        }
        const file = typeof msg.claim?.relative === 'string' ? msg.claim.relative : typeof msg.filename === 'string' ? path.basename(msg.filename) : undefined;
        const item = await queue.add(image, { msg: stored, detections, width, height, file, claimed: !!claim }, timeoutMs > 0 ? Date.now() + timeoutMs : undefined);
        if (claim) {
          try {
            await claim.park(item.id);
          } catch (err) {
            await queue.take(item.id);
            throw err;
          }
        }
        schedule(item.id, item.deadline);
        showCount(queue);
      };
      work().then(
        () => {
          release?.();
          done();
        },
        (err: Error) => {
          release?.();
          if (claim && !claim.live) return done();
          failMessage(RED, 'redaction-review', err, done, (s) => status.now(s));
        },
      );
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      status.stop();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      reviewNodes.delete(node.id);
      // The queue stays on disk: a redeploy or a restart shows the same images again.
      if (!removed || !opened) return done();
      // The node is deleted: no unredacted image stays behind, and a watched file's time limit runs again (it ends in failed/).
      const queue = opened;
      void (async () => {
        for (const item of queue.list()) {
          await liveClaims.parkedFor(item.id)?.unpark().catch(() => undefined);
          await queue.take(item.id);
        }
      })().then(() => done(), () => done());
    });
  }

  registerReviewRoutes(RED);
  RED.nodes.registerType('redaction-review', RedactionReview);
};
