/**
 * watch-folder: sends one message per media file that lands in a folder, and
 * takes the message back when the flow is done with it (success, or a Catch
 * node's error) to move the original to done/ or failed/.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { FolderIntake, type IntakeCounts, type IntakeJob } from '../watch/intake';
import { IMAGE_EXTENSIONS, VIDEO_EXTENSIONS } from '../watch/layout';
import { printable } from '../common/printable';
import { numberField } from './lib/properties';
import { ThrottledStatus } from './lib/throttled-status';

interface WatchFolderDef extends NodeDef {
  folder?: string;
  outputDir?: string;
  doneDir?: string;
  failedDir?: string;
  recursive?: boolean;
  extensions?: string;
  afterSuccess?: 'move' | 'delete';
  stability?: string | number;
  polling?: boolean;
  maxInFlight?: string | number;
  timeout?: string | number;
  lease?: string | number;
  /** Seconds between reads of the folder that catch files whose event was lost (0: once, at start). */
  rescan?: string | number;
  audit?: boolean;
}

interface ClaimRef {
  token: string;
  relative: string;
  attempt: number;
}

type ResultMsg = NodeMessageInFlow & {
  claim?: ClaimRef;
  error?: { message?: string };
  redaction?: Record<string, unknown>;
  segmentation?: Record<string, unknown>;
  video?: { frames?: number; detections?: { fresh: number; carried: number }; coveredWhole?: { frames: number; because: string[] }; tracksPerLabel?: Record<string, number>; zones?: string[] };
};

/** "face 3, text 1": instances per label of a photo, tracks per label of a video; "nothing found" when none. */
function found(msg: ResultMsg, words: (key: string, params?: Record<string, string | number>) => string): string {
  const perLabel = msg.redaction?.perLabel as Record<string, { instances?: number }> | undefined;
  const counts: Array<[string, number]> = msg.video
    ? Object.entries(msg.video.tracksPerLabel ?? {})
    : Object.entries(perLabel ?? {}).map(([label, s]) => [label, s.instances ?? 0]);
  const list = counts.filter(([, n]) => n > 0).map(([label, n]) => `${printable(label)} ${n}`).join(', ');
  const what = list || words('watch-folder.log.nothing');
  return msg.video ? words('watch-folder.log.video', { frames: msg.video.frames ?? 0, found: what }) : what;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

export = function register(RED: NodeAPI): void {
  function WatchFolder(this: Node, config: WatchFolderDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const status = new ThrottledStatus((s) => node.status(s));
    // Blank folders: the example flows' environment variables, else folders in the user dir.
    const settings = RED.settings as unknown as Record<string, unknown>;
    const userDir = typeof settings.userDir === 'string' ? settings.userDir : path.join(os.homedir(), '.node-red');
    const folder = config.folder || process.env.REDACT_WATCH_DIR || path.join(userDir, 'redact', 'incoming');
    const outputDir = config.outputDir || process.env.REDACT_OUTPUT_DIR || path.join(userDir, 'redact', 'redacted');
    const extensions = (config.extensions || [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(','))
      .split(',')
      .map((e) => e.trim().replace(/^\./, '').toLowerCase())
      .filter(Boolean);
    const intake = new FolderIntake({
      folder,
      output: outputDir,
      done: config.doneDir || undefined,
      failed: config.failedDir || undefined,
      recursive: config.recursive === true,
      extensions,
      stabilityMs: numberField(config.stability, 2) * 1000,
      polling: config.polling === true,
      maxInFlight: Math.max(1, numberField(config.maxInFlight, 2)),
      timeoutMs: Math.max(1, numberField(config.timeout, 600)) * 1000,
      leaseMs: Math.max(2, numberField(config.lease, 120)) * 1000,
      rescanMs: Math.max(0, numberField(config.rescan, 10)) * 1000,
      deleteOriginal: config.afterSuccess === 'delete',
      audit: config.audit !== false,
    });

    const showCounts = (c: IntakeCounts): void => {
      const busy = c.queued + c.processing > 0;
      status.set({ fill: c.failed > 0 ? 'yellow' : 'green', shape: busy ? 'ring' : 'dot', text: RED._('watch-folder.status.counts', { ...c }) });
    };
    intake.on('counts', showCounts);
    intake.on('warning', (err: Error) => node.warn(printable(err.message)));
    // Names come from outside: escaped, so a newline in one cannot forge a log line.
    intake.on('failed', (relative: string, reason: string, ms?: number) => {
      const params = { file: printable(relative), reason: printable(reason), seconds: ms === undefined ? '' : seconds(ms) };
      node.warn(RED._(ms === undefined ? 'watch-folder.log.failed' : 'watch-folder.log.failed-after', params));
    });
    intake.on('job', (job: IntakeJob) => {
      const claim: ClaimRef = { token: job.token, relative: job.relative, attempt: job.attempt };
      node.send({ payload: job.input, filename: job.input, outputPath: job.output, kind: job.kind, topic: job.relative, claim });
    });
    intake.start().then(
      () => {
        node.log(RED._('watch-folder.log.watching', { folder: printable(intake.layout.watch), output: printable(intake.layout.output) }));
        showCounts(intake.counts);
      },
      (err: Error) => {
        node.error(RED._('watch-folder.errors.start', { folder: printable(intake.layout.watch), message: printable(err.message) }));
        status.now({ fill: 'red', shape: 'ring', text: RED._('watch-folder.status.error') });
      },
    );

    node.on('input', (raw, _send, done) => {
      const msg = raw as ResultMsg;
      const token = msg.claim?.token;
      if (typeof token !== 'string') {
        // Not an error for a Catch node: a Catch wired back here would loop.
        node.warn(RED._('watch-folder.warn.no-claim'));
        return done();
      }
      const failed = msg.error !== undefined;
      const work = failed
        ? intake.fail(token, msg.error?.message || 'failed').then(() => undefined)
        : intake
            .complete(token, {
              prompts: msg.segmentation?.prompts ?? msg.redaction?.prompts,
              threshold: msg.segmentation?.threshold ?? msg.redaction?.threshold,
              modelId: msg.segmentation?.modelId ?? msg.redaction?.modelId,
              mode: msg.redaction?.mode,
              perLabel: msg.redaction?.perLabel,
              backends: msg.segmentation?.backends,
              smallestFace: msg.segmentation?.smallestFace,
              zones: msg.redaction?.zones ?? msg.video?.zones,
              review: msg.redaction?.review,
              video: msg.video,
            })
            .then((job) => node.log(RED._('watch-folder.log.done', { file: printable(job.relative), seconds: seconds(Date.now() - job.startedAt), found: found(msg, (k, p) => RED._(k, p)) })));
      work.then(
        () => done(),
        (err: Error & { code?: string }) => {
          // A job that went to failed/ was logged when it did.
          if (err.code !== 'QUARANTINED') node.warn(printable(err.message));
          done();
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      intake.close().then(() => done(), () => done());
    });
  }

  RED.nodes.registerType('watch-folder', WatchFolder);
};
