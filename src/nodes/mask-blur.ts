/**
 * mask-blur: hides the pixels of msg.detections in the image (blur, mosaic or
 * solid fill) and writes the image back in its own format, with an audit
 * summary in msg.redaction.
 */
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { ImageInput, Instance } from '../common/types';
import { redactImage, validateZones, type PrivacyZone, type RedactMode, type RedactOptions, type RedactResult } from '../redact';
import type { Request, Response } from 'express';
import { forgetSample, keepSample, sampleOf } from './lib/redacted-samples';
import { redactSettings } from './lib/redact-settings';
import { writeFileAtomic } from '../common/atomic-write';
import { confinePath } from '../common/path-guard';
import { rootsFromSettings } from './lib/allowed-roots';
import { numberField, readProperty, writeMsgProperty, type PropertyType } from './lib/properties';
import { ThrottledStatus } from './lib/throttled-status';
import { assertIllegible, type VerificationResult } from '../engine';
import type { Sam3ModelNode } from './lib/sam3-model-node';
import { claimOf } from './lib/claim-of';
import { codeOf, failMessage, nodeError } from './lib/errors';
import { imageLimits } from './lib/image-limits';
import { naming, readImageBytes } from '../common/image-source';

interface MaskBlurDef extends NodeDef {
  property?: string;
  propertyType?: PropertyType;
  outputProperty?: string;
  mode?: RedactMode;
  fillColor?: string;
  cover?: 'mask' | 'box';
  growPercent?: string | number;
  growPixels?: string | number;
  feather?: string | number;
  /** Blank: scaled to each region. */
  blurSigma?: string | number;
  pixelSize?: string | number;
  labels?: string;
  minScore?: string | number;
  quality?: string | number;
  keepMetadata?: boolean;
  onInvalid?: 'error' | 'redact-all';
  /** Read every redacted text line back with the recogniser and fail if any is still legible. */
  verify?: boolean;
  /** The model node whose text recogniser verifies (only with verify). */
  model?: string;
  /** Fixed privacy zones drawn in the dialog: hidden in every image and frame. */
  zones?: unknown;
}

type BlurMsg = NodeMessageInFlow & {
  detections?: unknown;
  segmentation?: Record<string, unknown>;
  redaction?: unknown;
  outputPath?: unknown;
  redactMode?: unknown;
  filename?: unknown;
  zones?: unknown;
  review?: unknown;
};

/** The review summary an audit keeps: the decision, who, when, and each change (not the removed instances' masks). */
function reviewRecord(review: unknown): Record<string, unknown> {
  const record = { ...(review as Record<string, unknown>) };
  delete record.removed;
  return record;
}

const MODES: RedactMode[] = ['blur', 'pixelate', 'fill'];
/** Errors that are no fault of the detections: the image itself is refused, so there is nothing to hide. */
const REFUSALS = new Set(['PATH_NOT_ALLOWED', 'CLAIM_ENDED']);

/** A number typed into the dialog, or undefined when blank (or not a number): the library's default. */
function numberOrUndefined(v: string | number | undefined): number | undefined {
  const n = numberField(v, NaN);
  return Number.isFinite(n) ? n : undefined;
}

/** A strength set by hand, or undefined (blank, 0) for the automatic one. */
function positiveOrUndefined(v: string | number | undefined): number | undefined {
  const n = numberField(v, 0);
  return n > 0 ? n : undefined;
}

export = function register(RED: NodeAPI): void {
  function MaskBlur(this: Node, config: MaskBlurDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const property = config.property || 'payload';
    const propertyType = config.propertyType || 'msg';
    const outputProperty = config.outputProperty || 'payload';
    const limits = imageLimits(RED);
    const labels = (config.labels ?? '').split(',').map((l) => l.trim()).filter(Boolean);
    // Blank fields are left out: the library owns the defaults (REDACT_DEFAULTS).
    const options: RedactOptions = {
      mode: config.mode || undefined,
      fillColor: config.fillColor || undefined,
      cover: config.cover || undefined,
      growPercent: numberOrUndefined(config.growPercent),
      growPixels: numberOrUndefined(config.growPixels),
      featherPixels: numberOrUndefined(config.feather),
      blurSigma: positiveOrUndefined(config.blurSigma),
      pixelSize: positiveOrUndefined(config.pixelSize),
      labels: labels.length > 0 ? labels : undefined,
      minScore: numberOrUndefined(config.minScore),
      quality: numberOrUndefined(config.quality),
      keepMetadata: config.keepMetadata === true,
      ...limits,
    };
    // Zones from the dialog are checked once: a bad one fails every message with the reason (fail closed).
    let ownZones: PrivacyZone[] = [];
    let zonesProblem: Error | undefined;
    try {
      ownZones = validateZones(config.zones);
    } catch (err) {
      zonesProblem = err as Error;
      node.error(zonesProblem.message);
    }
    // The review page previews with these settings when a review node names this node.
    redactSettings.set(node.id, { ...options, zones: ownZones });
    const redactAllOnInvalid = config.onInvalid === 'redact-all';
    const status = new ThrottledStatus((s) => node.status(s));
    const roots = rootsFromSettings(RED);
    const verifier = config.verify ? (RED.nodes.getNode(config.model ?? '') as Sam3ModelNode | null) : null;
    // A user of the shared engine like any other: it loads with the first and is released with the last.
    if (verifier) verifier.shared.addUser(node.id, () => undefined);

    /** The verification pass: fails (StillLegibleError) when the recogniser still reads a redacted line. */
    const verify = async (original: ImageInput, result: RedactResult, instances: Instance[]): Promise<VerificationResult> => {
      if (!verifier) throw nodeError(RED, 'CONFIG_INVALID', 'mask-blur.errors.no-verifier');
      const check = await verifier.shared.run((engine) => engine.verifyRedaction(original, result.image as ImageInput, instances));
      assertIllegible(check);
      return check;
    };

    node.on('input', (msg: BlurMsg, send, done) => {
      // A message of a watched-folder claim that has ended (timed out, the flow stopped) goes nowhere.
      const claim = claimOf(msg);
      if (claim === 'ended') return done();
      let image: unknown;
      try {
        image = readProperty(RED, node, msg, property, propertyType);
        if (image === undefined || image === null) throw nodeError(RED, 'INPUT_MISSING', 'mask-blur.errors.no-image', { property: `${propertyType}.${property}` });
      } catch (err) {
        done(err as Error);
        return;
      }
      const input = image as ImageInput;
      // A request may choose the mode (e.g. an MQTT request's "mode").
      let opts: RedactOptions = MODES.includes(msg.redactMode as RedactMode) ? { ...options, mode: msg.redactMode as RedactMode } : options;
      // A video frame's buffer belongs to its job (video-split reuses it once written), and nothing
      // downstream may see it unredacted: change it where it is rather than copy 6 MB per 1080p frame.
      // Not with Verify text, which reads the input again after redaction.
      if ((msg as { parts?: { type?: unknown } }).parts?.type === 'video' && !config.verify) opts = { ...opts, inPlace: true };

      /** msg.outputPath: the encoded result also goes to that file, which appears only complete. */
      const writeOutput = async (encoded: Buffer): Promise<void> => {
        if (typeof msg.outputPath !== 'string' || !msg.outputPath) return;
        const target = await confinePath('msg.outputPath', msg.outputPath, roots);
        // Never over the original: the path given, or the one sam3-segment read the bytes from.
        const source = typeof input === 'string' ? input : typeof msg.filename === 'string' ? msg.filename : undefined;
        if (source && (await confinePath('image', source, [])) === target) throw nodeError(RED, 'OUTPUT_IS_INPUT', 'mask-blur.errors.overwrite', { path: target });
        // A claimed file's result goes to the claim's staging file; watch-folder publishes it with its audit.
        const staged = claim && path.resolve(msg.outputPath) === claim.output;
        await writeFileAtomic(staged ? claim.staging : target, encoded, { beforeRename: claim ? () => claim.assertLive() : undefined });
        msg.filename = staged ? claim.output : target;
      };

      const redact = async (): Promise<void> => {
        // The node's zones and the message's (msg.zones, for flows that compute them) are all hidden.
        if (zonesProblem) throw zonesProblem;
        const zones = [...ownZones, ...validateZones(msg.zones)];
        if (zones.length > 0) opts = { ...opts, zones };
        // A path is read once, within the byte limit: redaction and verification see the same bytes.
        const file = typeof input === 'string' ? await confinePath('image', input, roots) : typeof msg.filename === 'string' ? msg.filename : undefined;
        const original: ImageInput = typeof input === 'string' && file ? await readImageBytes(file, limits) : input;
        // Whatever msg.detections holds, redactImage validates it before touching a pixel.
        let result: RedactResult;
        let reason: string | undefined;
        try {
          result = await redactImage(original, msg.detections as Instance[], opts).catch((err: unknown) => {
            throw naming(err, file);
          });
        } catch (err) {
          // Only detections that cannot be used fall back to hiding the whole image; refusals stand.
          if (!redactAllOnInvalid || REFUSALS.has(codeOf(err))) throw err;
          // Fail closed: the detections could not be used, so nothing of the image is shown.
          reason = (err as Error).message;
          node.warn(RED._('mask-blur.warn.whole-image', { reason }));
          result = await redactImage(original, [], { ...opts, wholeImage: true }).catch((e: unknown) => {
            throw naming(e, file);
          });
        }
        // Nothing of a wholly redacted image is left to read.
        const check = config.verify && !result.summary.wholeImage ? await verify(original, result, msg.detections as Instance[]) : undefined;
        if (Buffer.isBuffer(result.image)) await writeOutput(result.image);
        writeMsgProperty(RED, msg, outputProperty, result.image);
        const seg = msg.segmentation ?? {};
        msg.redaction = {
          ...result.summary,
          format: result.format,
          width: result.width,
          height: result.height,
          prompts: seg.prompts,
          threshold: seg.threshold,
          modelId: seg.modelId,
          ...(reason ? { reason } : {}),
          // Who decided what, when the image passed a review node.
          ...(msg.review && typeof msg.review === 'object' ? { review: reviewRecord(msg.review) } : {}),
          // Each zone by name (unnamed ones by their place), with the pixels it hid.
          ...(result.summary.zones ? { zones: result.summary.zones.map((z, i) => ({ name: z.name ?? `zone ${i + 1}`, pixels: z.pixels })) } : {}),
          ...(check ? { verification: { checked: check.checked, unreadable: check.unreadable, legible: 0, ms: Math.round(check.ms) } } : {}),
        };
      };

      const release = claim?.hold(`${node.type} ${node.id}`);
      redact().then(
        () => {
          release?.();
          // Its claim ended while this ran: the result is not published, and nothing more is said.
          if (claim && !claim.live) return done();
          status.set({});
          // What was sent on (redacted) is what the dialog may draw zones over.
          const sent = (msg as Record<string, unknown>)[outputProperty];
          if (Buffer.isBuffer(sent) || (sent && typeof sent === 'object' && 'data' in sent)) keepSample(node.id, sent as Parameters<typeof keepSample>[1]);
          send(msg);
          done();
        },
        (err: Error) => {
          release?.();
          if (claim && !claim.live) return done();
          failMessage(RED, 'mask-blur', err, done, (s) => status.now(s));
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      forgetSample(node.id);
      redactSettings.delete(node.id);
      if (!verifier) return done();
      verifier.shared.removeUser(node.id).then(done, () => done());
    });
  }

  // The edit dialog's "last output": the node's last redacted image, to draw zones over. Never an unredacted one.
  RED.httpAdmin.get('/mask-blur/:id/sample', RED.auth.needsPermission('mask-blur.read'), (req: Request, res: Response) => {
    sampleOf(String(req.params.id)).then(
      (jpeg) => (jpeg ? res.type('image/jpeg').set('Cache-Control', 'no-store').send(jpeg) : res.status(404).json({ error: 'no redacted output yet: send an image through this node first, or upload one' })),
      () => res.status(500).end(),
    );
  });

  RED.nodes.registerType('mask-blur', MaskBlur);
};
