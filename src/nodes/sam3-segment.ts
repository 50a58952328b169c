/**
 * sam3-segment: finds every instance of each prompt in the image of a message
 * and adds them as msg.detections, leaving the image as it was.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { Prompt, SegmentResult } from '../engine';
import { drawPreview } from '../redact/preview';
import { numberField, readProperty, writeMsgProperty, type PropertyType } from './lib/properties';
import type { ModelState } from './lib/shared-engine';
import { ThrottledStatus } from './lib/throttled-status';
import type { Sam3ModelNode } from './lib/sam3-model-node';

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
}

type SegmentMsg = NodeMessageInFlow & { prompt?: unknown; detections?: unknown; segmentation?: unknown };

/** Prompts from msg.prompt ("face, plate" or a list) or, when absent, the node's own list. */
function promptsFor(msg: SegmentMsg, own: Prompt[]): Prompt[] | string {
  const p = msg.prompt;
  if (p === undefined || p === null || p === '') return own;
  if (typeof p === 'string' || Array.isArray(p)) return p as Prompt[] | string;
  throw new TypeError('msg.prompt must be a string like "face, license plate" or an array of prompts');
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

    node.on('input', (msg: SegmentMsg, send, done) => {
      if (!model) {
        done(new Error(RED._('sam3-segment.errors.no-model')));
        return;
      }
      const started = Date.now();
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
      inFlight++;
      showActivity();
      model.shared
        .run((engine) => engine.segment(image as Buffer, prompts, { threshold: model.threshold, tiles }).then((r) => ({ r, engine })))
        .then(async ({ r, engine }: { r: SegmentResult; engine: { modelId: string } }) => {
          msg.detections = r.instances;
          msg.segmentation = {
            width: r.width,
            height: r.height,
            prompts: typeof prompts === 'string' ? prompts.split(',').map((p) => p.trim()).filter(Boolean) : prompts,
            threshold: model.threshold,
            modelId: engine.modelId,
            timings: r.timings,
          };
          if (config.preview) writeMsgProperty(RED, msg, previewProperty, await drawPreview(image as Buffer, r.instances));
          lastMs = Date.now() - started;
          send(msg);
          done();
        })
        .catch((err: Error) => done(err))
        .finally(() => {
          inFlight--;
          showActivity();
        });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      if (!model) return done();
      model.shared.removeUser(node.id).then(done, () => done());
    });
  }

  RED.nodes.registerType('sam3-segment', Sam3Segment);
};
