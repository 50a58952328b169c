/**
 * sam3-segment: finds every instance of each prompt in the image of a message
 * and adds them as msg.detections, leaving the image as it was.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { Prompt, SegmentResult } from '../engine';
import type { ImageInput, RawFrame } from '../common/types';
import { drawPreview } from '../redact/preview';
import { numberField, readProperty, writeMsgProperty, type PropertyType } from './lib/properties';
import type { ModelState } from './lib/shared-engine';
import { ThrottledStatus } from './lib/throttled-status';
import { confinePath } from '../common/path-guard';
import { rootsFromSettings } from './lib/allowed-roots';
import type { Sam3ModelNode } from './lib/sam3-model-node';
import { VideoFrames } from './lib/video-frames';
import { videoJobs, type FrameParts } from './lib/video-jobs';

interface PromptRow {
  text: string;
  threshold?: string | number;
}

interface Sam3SegmentDef extends NodeDef {
  model: string;
  property?: string;
  propertyType?: PropertyType;
  prompts?: PromptRow[];
  tiles?: string;
  preview?: boolean;
  previewProperty?: string;
  stride?: string | number;
  sceneCut?: string | number;
  onDetectionError?: 'redact' | 'fail';
}

type SegmentMsg = NodeMessageInFlow & { prompt?: unknown; detections?: unknown; segmentation?: unknown };

/** Prompts from msg.prompt ("face, plate" or a list) or, when absent, the node's own list. */
function promptsFor(msg: SegmentMsg, own: Prompt[]): Prompt[] | string {
  const p = msg.prompt;
  if (p === undefined || p === null || p === '') return own;
  if (typeof p === 'string' || Array.isArray(p)) return p as Prompt[] | string;
  throw new TypeError('msg.prompt must be a string like "face, license plate" or an array of prompts');
}

function promptList(prompts: Prompt[] | string): Prompt[] {
  return typeof prompts === 'string' ? prompts.split(',').map((p) => p.trim()).filter(Boolean) : prompts;
}

function tilesOption(value: string | undefined): number | 'auto' | undefined {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  return Number.isFinite(n) && n > 1 ? n : undefined;
}

export = function register(RED: NodeAPI): void {
  function Sam3Segment(this: Node, config: Sam3SegmentDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const model = RED.nodes.getNode(config.model) as Sam3ModelNode | null;
    const property = config.property || 'payload';
    const propertyType = config.propertyType || 'msg';
    const previewProperty = config.previewProperty || 'preview';
    const tiles = tilesOption(config.tiles);
    const own: Prompt[] = (config.prompts ?? [])
      .filter((p) => p && typeof p.text === 'string' && p.text.trim())
      .map((p) => {
        const threshold = numberField(p.threshold, NaN);
        return Number.isFinite(threshold) ? { text: p.text, threshold } : p.text;
      });
    const status = new ThrottledStatus((s) => node.status(s));
    const roots = rootsFromSettings(RED);
    let modelState: ModelState = 'idle';
    let inFlight = 0;
    let lastMs: number | undefined;

    const showActivity = (): void => {
      if (modelState !== 'ready') return;
      const text = inFlight > 0
        ? RED._('sam3-segment.status.processing', { count: inFlight })
        : lastMs !== undefined
          ? RED._('sam3-segment.status.done', { seconds: (lastMs / 1000).toFixed(1) })
          : RED._('sam3-segment.status.ready');
      status.set({ fill: 'green', shape: inFlight > 0 ? 'ring' : 'dot', text });
    };
    const modelStatus: Record<ModelState, NodeStatus> = {
      idle: {},
      loading: { fill: 'yellow', shape: 'ring', text: 'sam3-segment.status.loading' },
      ready: { fill: 'green', shape: 'dot', text: 'sam3-segment.status.ready' },
      missing: { fill: 'red', shape: 'ring', text: 'sam3-segment.status.missing' },
      error: { fill: 'red', shape: 'dot', text: 'sam3-segment.status.error' },
    };

    if (!model) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('sam3-segment.status.no-model') });
    } else {
      model.shared.addUser(node.id, (state) => {
        modelState = state;
        const s = modelStatus[state];
        status.now(s.text ? { ...s, text: RED._(s.text) } : {});
        if (state === 'ready') showActivity();
      });
    }

    const stride = Math.max(1, Math.floor(numberField(config.stride, 1)));
    const video = new VideoFrames({
      stride,
      sceneCut: numberField(config.sceneCut, 30),
      onDetectionError: config.onDetectionError === 'fail' ? 'fail' : 'redact',
    });
    /** One engine call, counted in the status. */
    const segment = (shared: Sam3ModelNode, image: ImageInput, prompts: Prompt[] | string): Promise<SegmentResult> => {
      inFlight++;
      showActivity();
      const started = Date.now();
      return shared.shared
        .run((engine) => engine.segment(image, prompts, { threshold: shared.threshold, tiles }))
        .then((r) => {
          lastMs = Date.now() - started;
          return r;
        })
        .finally(() => {
          inFlight--;
          showActivity();
        });
    };

    node.on('input', (msg: SegmentMsg, send, done) => {
      if (!model) {
        done(new Error(RED._('sam3-segment.errors.no-model')));
        return;
      }
      let image: unknown;
      let prompts: Prompt[] | string;
      try {
        image = readProperty(RED, node, msg, property, propertyType);
        prompts = promptsFor(msg, own);
        if (image === undefined || image === null) throw new Error(RED._('sam3-segment.errors.no-image', { property: `${propertyType}.${property}` }));
      } catch (err) {
        done(err as Error);
        return;
      }
      const parts = (msg as { parts?: FrameParts }).parts;
      const job = parts?.type === 'video' ? videoJobs.get(parts.id) : undefined;
      if (parts?.type === 'video') {
        if (!job) return done(); // its job already failed or was stopped: the frame goes nowhere
        const segmentation = { prompts: promptList(prompts), threshold: model.threshold, stride };
        const frame = image as RawFrame;
        const framePrompts = prompts;
        video.push(job, parts, {
          frame,
          detect: () => segment(model, frame, framePrompts).then((r) => r.instances),
          emit: (instances, carried) => {
            msg.detections = instances;
            msg.segmentation = { ...segmentation, width: job.info.width, height: job.info.height, carried, modelId: model.shared.current?.modelId };
            send(msg);
            done();
          },
          end: (err) => (err ? done(err) : done()),
        });
        return;
      }
      // A path from a message must stay inside the allowed folders.
      const confined = typeof image === 'string' ? confinePath('image', image, roots) : Promise.resolve(image as ImageInput);
      confined
        .then((img) => segment(model, img, prompts))
        .then(async (r) => {
          msg.detections = r.instances;
          msg.segmentation = {
            width: r.width,
            height: r.height,
            prompts: promptList(prompts),
            threshold: model.threshold,
            modelId: model.shared.current?.modelId,
            timings: r.timings,
          };
          if (config.preview) writeMsgProperty(RED, msg, previewProperty, await drawPreview(image as ImageInput, r.instances));
          send(msg);
          done();
        })
        .catch((err: Error) => done(err));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      video.close();
      if (!model) return done();
      model.shared.removeUser(node.id).then(done, () => done());
    });
  }

  RED.nodes.registerType('sam3-segment', Sam3Segment);
};
