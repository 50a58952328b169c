/**
 * sam3-model: the config node that owns one SAM 3 engine, shared by every
 * node that names it.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_THRESHOLD } from '../engine';
import { resolveModelDir } from './lib/model-dir';
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
  function Sam3Model(this: Sam3ModelNode, config: Sam3ModelDef): void {
    RED.nodes.createNode(this, config);
    const settings = RED.settings as unknown as Record<string, unknown>;
    const modelDir = resolveModelDir({
      configured: config.modelDir,
      env: process.env,
      setting: settings.sam3ModelDir,
      userDir: typeof settings.userDir === 'string' ? settings.userDir : undefined,
    });
    this.threshold = Math.min(1, Math.max(0, numberField(config.threshold, DEFAULT_THRESHOLD)));
    const threads = numberField(config.threads, 0);
    this.shared = new SharedEngine(
      {
        modelDir,
        variant: config.variant || undefined,
        executionProviders: [config.provider || 'cpu'],
        threads: threads > 0 ? threads : undefined,
      },
      { ...DEFAULT_LIMITS, maxQueued: Math.max(1, numberField(config.maxQueued, DEFAULT_LIMITS.maxQueued)) },
    );
    this.shared.onChange = (state, detail) => {
      if (state === 'ready') this.log(RED._('sam3-model.log.ready', { dir: modelDir, variant: detail }));
      else if (state === 'missing') this.warn(RED._('sam3-model.log.missing', { detail }));
      else if (state === 'error') this.error(RED._('sam3-model.log.error', { detail }));
    };
    this.on('close', (_removed: boolean, done: () => void) => {
      this.shared.close().then(done, (err: Error) => {
        this.warn(err.message);
        done();
      });
    });
  }

  RED.nodes.registerType('sam3-model', Sam3Model, {
    settings: {
      sam3ModelDir: { value: '', exportable: false },
    },
  });
};
