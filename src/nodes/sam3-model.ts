/**
 * sam3-model: the config node that owns one SAM 3 engine, shared by every
 * node that names it.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import { DEFAULT_THRESHOLD } from '../engine';
import { verifyModelFolder } from '../models/verify';
import { resolveModelDir } from '../models/model-dir';
import { imageLimits } from './lib/image-limits';
import { numberField } from './lib/properties';
import { DEFAULT_LIMITS, SharedEngine } from './lib/shared-engine';
import type { Sam3ModelNode } from './lib/sam3-model-node';

interface Sam3ModelDef extends NodeDef {
  modelDir?: string;
  variant?: string;
  provider?: string;
  threads?: string | number;
  threshold?: string | number;
  maxQueued?: string | number;
}

export = function register(RED: NodeAPI): void {
  // One rule for the node and for the editor's check, so the check looks where the node will.
  function modelDirFor(configured: string | undefined): string {
    const settings = RED.settings as unknown as Record<string, unknown>;
    return resolveModelDir({
      configured,
      env: process.env,
      setting: settings.sam3ModelDir,
      userDir: typeof settings.userDir === 'string' ? settings.userDir : undefined,
    });
  }

  function Sam3Model(this: Sam3ModelNode, config: Sam3ModelDef): void {
    RED.nodes.createNode(this, config);
    const modelDir = modelDirFor(config.modelDir);
    this.threshold = Math.min(1, Math.max(0, numberField(config.threshold, DEFAULT_THRESHOLD)));
    const threads = numberField(config.threads, 0);
    this.shared = new SharedEngine(
      {
        modelDir,
        variant: config.variant || undefined,
        executionProviders: [config.provider || 'cpu'],
        threads: threads > 0 ? threads : undefined,
        ...imageLimits(RED),
      },
      { ...DEFAULT_LIMITS, maxQueued: Math.max(1, numberField(config.maxQueued, DEFAULT_LIMITS.maxQueued)) },
    );
    this.shared.onChange = (state, detail) => {
      const text = this.shared.current?.text ? RED._('sam3-model.log.text-on') : RED._('sam3-model.log.text-off', { reason: this.shared.current?.capabilities().textReason ?? '' });
      const prompts = this.shared.defaultPrompts;
      if (state === 'ready') this.log(RED._('sam3-model.log.ready', { dir: modelDir, variant: detail, text, prompts }));
      else if (state === 'no-sam3') this.warn(RED._('sam3-model.log.no-sam3', { detail, prompts }));
      else if (state === 'missing') this.warn(RED._('sam3-model.log.missing', { detail }));
      else if (state === 'error') this.error(RED._('sam3-model.log.error', { detail }));
    };
    this.shared.onNote = (message) => this.log(message);
    this.on('close', (_removed: boolean, done: () => void) => {
      this.shared.close().then(done, (err: Error) => {
        this.warn(err.message);
        done();
      });
    });
  }

  // The edit dialog's "Check folder": the same offline check as `sam3-model verify`, no weights loaded.
  RED.httpAdmin.get('/sam3-model/verify', RED.auth.needsPermission('sam3-model.read'), (req: Request, res: Response) => {
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const variant = text(req.query.variant).trim();
    verifyModelFolder(modelDirFor(text(req.query.dir)), variant || undefined).then(
      (result) => res.json(result),
      (err: Error) => res.status(500).json({ error: err.message }),
    );
  });

  RED.nodes.registerType('sam3-model', Sam3Model, {
    settings: {
      sam3ModelDir: { value: '', exportable: false },
    },
  });
};
