/**
 * sam3-segment: finds every instance of each prompt in the image of a message
 * and adds them as msg.detections, leaving the image as it was.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { LabelBackend, Prompt, RedactionEngine, RedactionSegmentResult, Sam3Joins, TextBackendChoice } from '../engine';
import type { ImageInput, RawFrame } from '../common/types';
import { drawPreview } from '../redact/preview';
import { numberField, readProperty, writeMsgProperty, type PropertyType } from './lib/properties';
import type { EnginePin, ModelState } from './lib/shared-engine';
import { DetectionGroups, mergeBackends } from './lib/detection-groups';
import { ThrottledStatus } from './lib/throttled-status';
import { confinePath } from '../common/path-guard';
import { rootsFromSettings } from './lib/allowed-roots';
import type { Sam3ModelNode } from './lib/sam3-model-node';
import { VideoFrames } from './lib/video-frames';
import { claimOf } from './lib/claim-of';
import { failMessage, nodeError } from './lib/errors';
import { CodedError } from '../common/coded-error';
import { imageLimits } from './lib/image-limits';
import { naming, readImageBytes } from '../common/image-source';
import { videoJobs, type FrameParts, type VideoJob } from './lib/video-jobs';

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
  textBackend?: TextBackendChoice;
  sam3Joins?: Sam3Joins;
  /** Video: face detector's single pass every N frames (default 1). */
  faceStride?: string | number;
  /** Video: the tiled pass for small faces every N frames (default 10; 0 = never). */
  smallFaceStride?: string | number;
  /** The smallest face the tiled pass looks for, in image pixels (default 12): photos and video alike. */
  smallestFace?: string | number;
  /** Video: people, vehicles and plates every N frames (default 10, with the other phrases). */
  objectStride?: string | number;
  /** Frames a track is held on each side of its sightings (default 3). */
  hold?: string | number;
}

type SegmentMsg = NodeMessageInFlow & { prompt?: unknown; detections?: unknown; segmentation?: unknown };

/**
 * Prompts from msg.prompt ("face, plate" or a list) or, when absent, the
 * node's own list; undefined when neither names any, and the installed
 * models' defaults apply.
 */
function promptsFor(msg: SegmentMsg, own: Prompt[]): Prompt[] | string | undefined {
  const p = msg.prompt;
  if (p === undefined || p === null || (typeof p === 'string' && !p.trim())) return own.length ? own : undefined;
  if (typeof p === 'string' || Array.isArray(p)) return p as Prompt[] | string;
  throw new CodedError('PROMPT_INVALID', 'msg.prompt must be a string like "face, license plate" or an array of prompts');
}

/** Which model answered each prompt, and their identities: the audit trail's model identity. */
function modelsUsed(engine: RedactionEngine, backends: Record<string, LabelBackend[]>): { modelId?: string; models: Record<string, string> } {
  const models: Record<string, string> = {};
  for (const name of new Set(Object.values(backends).flatMap((list) => list.map((b) => b.backend)))) {
    const id = engine.backend(name)?.modelId;
    if (id) models[name] = id;
  }
  return { modelId: models.sam3 ?? Object.values(models)[0], models };
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
    const limits = imageLimits(RED);
    let modelState: ModelState = 'idle';
    let inFlight = 0;
    let lastMs: number | undefined;

    const modelStatus: Record<ModelState, NodeStatus> = {
      idle: {},
      loading: { fill: 'yellow', shape: 'ring', text: 'sam3-segment.status.loading' },
      ready: { fill: 'green', shape: 'dot', text: 'sam3-segment.status.ready' },
      'no-sam3': { fill: 'yellow', shape: 'dot', text: 'sam3-segment.status.no-sam3' },
      missing: { fill: 'red', shape: 'ring', text: 'sam3-segment.status.missing' },
      error: { fill: 'red', shape: 'dot', text: 'sam3-segment.status.error' },
    };
    /** What the loaded models find, in words: "faces, people & vehicles, plates, text" (SAM 3 is named by the state). */
    const serves = (): string => {
      const loaded = model?.shared.loadedBackends ?? [];
      return ['face', 'objects', 'plates', 'ocr'].filter((b) => loaded.includes(b)).map((b) => RED._(`sam3-segment.backend.${b}`)).join(', ');
    };
    /** The model's state, in words: with or without SAM 3, and what the loaded backends find. */
    const stateStatus = (): NodeStatus => {
      const s = modelStatus[modelState];
      return s.text ? { ...s, text: RED._(s.text, { what: serves() }) } : {};
    };
    /** Activity (in progress, or the last call's time) once there is some, with the model state beside it; until then the state alone. */
    const activity = (): NodeStatus => {
      if (inFlight === 0 && lastMs === undefined) return stateStatus();
      const text = inFlight > 0 ? RED._('sam3-segment.status.processing', { count: inFlight }) : RED._('sam3-segment.status.done', { seconds: ((lastMs ?? 0) / 1000).toFixed(1) });
      const state = RED._(modelState === 'ready' ? 'sam3-segment.status.with-sam3' : 'sam3-segment.status.without-sam3');
      return { fill: modelState === 'ready' ? 'green' : 'yellow', shape: inFlight > 0 ? 'ring' : 'dot', text: `${text} (${state})` };
    };
    const showActivity = (): void => {
      if (modelState !== 'ready' && modelState !== 'no-sam3') return;
      // Made when shown: a video calls this twice a frame, and the status changes once a second.
      status.set(activity);
    };

    if (!model) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('sam3-segment.status.no-model') });
    } else {
      model.shared.addUser(node.id, (state) => {
        modelState = state;
        status.now(stateStatus());
      });
    }

    type Segmented = RedactionSegmentResult & { prompts: Prompt[] | string; modelId?: string; models: Record<string, string> };
    type Facts = Pick<Segmented, 'prompts' | 'modelId' | 'models' | 'backends'>;
    /** Per video job, what its detections answered with, all groups together: the audit trail of carried frames too. */
    const lastFacts = new WeakMap<VideoJob, Facts>();
    const textBackend = config.textBackend || 'auto';
    const sam3Joins: Sam3Joins = config.sam3Joins === 'images-and-video' || config.sam3Joins === 'never' ? config.sam3Joins : 'images';
    // Video: detection groups, each on its own stride.
    const groups = new DetectionGroups(config, sam3Joins);
    const hold = Math.max(0, Math.floor(numberField(config.hold, 3)));
    const video = new VideoFrames({
      hold,
      sceneCut: numberField(config.sceneCut, 30),
      onDetectionError: config.onDetectionError === 'fail' ? 'fail' : 'redact',
      words: (key, params) => RED._(key, params),
    });

    /** Work on the engine, counted in the status. */
    const counted = async <R>(shared: Sam3ModelNode, work: (engine: RedactionEngine) => Promise<R>, pin?: EnginePin): Promise<R> => {
      inFlight++;
      showActivity();
      const started = Date.now();
      try {
        const r = await shared.shared.run(work, pin);
        lastMs = Date.now() - started;
        return r;
      } finally {
        inFlight--;
        showActivity();
      }
    };
    /** One image. Prompts left undefined are the installed models' defaults. */
    const segmentImage = (shared: Sam3ModelNode, image: ImageInput, asked: Prompt[] | string | undefined): Promise<Segmented> =>
      counted(shared, async (engine) => {
        const prompts = asked ?? shared.shared.defaultPrompts;
        const r = await engine.segment(image, prompts, { threshold: shared.threshold, tiles, textBackend, sam3Joins, face: { minFace: groups.smallestFace } });
        return { ...r, prompts, ...modelsUsed(engine, r.backends) };
      });
    /** One detection group on one frame; undefined when the group has nothing to find in this video. */
    /** One detection group on one frame, on the models the video's first frame got (a model swapped in meanwhile waits for the next video). */
    const segmentFrame = (shared: Sam3ModelNode, job: VideoJob, frame: RawFrame, asked: Prompt[] | string | undefined, group: string): Promise<Segmented | undefined> =>
      counted(shared, async (engine) => {
        const prompts = asked ?? shared.shared.defaultPrompts;
        const chosen = groups.promptsOf(group, prompts, !!engine.sam3);
        if (chosen.length === 0) return undefined;
        const r = await engine.segment(frame, chosen, { threshold: shared.threshold, tiles, textBackend, sam3Joins, ...groups.optionsOf(group, `${node.id}/${job.id}`) });
        return { ...r, prompts, ...modelsUsed(engine, r.backends) };
      }, job);

    node.on('input', (msg: SegmentMsg, send, done) => {
      if (!model) return done(nodeError(RED, 'CONFIG_INVALID', 'sam3-segment.errors.no-model'));
      let image: unknown;
      let prompts: Prompt[] | string | undefined;
      try {
        image = readProperty(RED, node, msg, property, propertyType);
        prompts = promptsFor(msg, own);
        if (image === undefined || image === null) throw nodeError(RED, 'INPUT_MISSING', 'sam3-segment.errors.no-image', { property: `${propertyType}.${property}` });
      } catch (err) {
        done(err as Error);
        return;
      }
      const parts = (msg as { parts?: FrameParts }).parts;
      const job = parts?.type === 'video' ? videoJobs.get(parts.id) : undefined;
      if (parts?.type === 'video') {
        // A frame of a job that ended goes nowhere (its end was reported); one of a job never seen is an error.
        if (!job) return videoJobs.hasEnded(parts.id) ? done() : done(nodeError(RED, 'UNKNOWN_JOB', 'sam3-segment.errors.unknown-job', { index: parts.index, id: String(parts.id) }));
        const frame = image as RawFrame;
        const framePrompts = prompts;
        video.push(job, parts, {
          frame,
          detect: (group) => segmentFrame(model, job, frame, framePrompts, group).then((r) => {
            if (!r) return [];
            const f = lastFacts.get(job);
            lastFacts.set(job, { prompts: r.prompts, modelId: f?.modelId ?? r.modelId, models: { ...f?.models, ...r.models }, backends: mergeBackends(f?.backends, r.backends) });
            return r.instances;
          }),
          emit: (instances, carried) => {
            const f = lastFacts.get(job);
            msg.detections = instances;
            msg.segmentation = {
              prompts: f ? promptList(f.prompts) : framePrompts === undefined ? [] : promptList(framePrompts),
              threshold: model.threshold,
              strides: groups.stridesFor(job.info.fps),
              smallestFace: groups.smallestFace,
              hold,
              width: job.info.width,
              height: job.info.height,
              carried,
              modelId: f?.modelId,
              models: f?.models,
              backends: f?.backends,
            };
            send(msg);
            done();
          },
          end: (err) => (err ? done(err) : done()),
        }, groups.groupsFor(framePrompts ?? model.shared.defaultPrompts, job.info.fps));
        return;
      }
      // A message of a watched-folder claim that has ended (timed out, the flow stopped) goes nowhere.
      const claim = claimOf(msg);
      if (claim === 'ended') return done();
      const release = claim?.hold(`${node.type} ${node.id}`);
      const detect = async (): Promise<void> => {
        // A path from a message must stay inside the allowed folders. The file is read once, here:
        // msg.payload then holds those bytes (msg.filename the path), so redaction sees what detection saw.
        let img = image as ImageInput;
        let file: string | undefined;
        if (typeof image === 'string') {
          file = await confinePath('image', image, roots);
          img = await readImageBytes(file, limits);
          if (propertyType === 'msg') {
            writeMsgProperty(RED, msg, property, img);
            (msg as { filename?: unknown }).filename ??= file;
          }
        }
        const r = await segmentImage(model, img, prompts).catch((err: unknown) => {
          throw naming(err, file);
        });
        msg.detections = r.instances;
        msg.segmentation = {
          width: r.width,
          height: r.height,
          prompts: promptList(r.prompts),
          threshold: model.threshold,
          modelId: r.modelId,
          models: r.models,
          backends: r.backends,
          smallestFace: groups.smallestFace,
          timings: r.timings,
        };
        if (config.preview) writeMsgProperty(RED, msg, previewProperty, await drawPreview(img, r.instances, limits));
      };
      const finish = async (): Promise<void> => {
        let failure: Error | undefined;
        try {
          await detect();
        } catch (err) {
          failure = err as Error;
        }
        release?.();
        // A claim that ended meanwhile (timed out, the flow stopped) takes nothing further.
        if (claim && !claim.live) return done();
        if (failure) return failMessage(RED, 'sam3-segment', failure, done, (s) => status.now(s));
        send(msg);
        done();
      };
      void finish();
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
