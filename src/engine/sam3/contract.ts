/**
 * The SAM 3 ONNX contract (docs/sam3-onnx-contract.md) as data, and the
 * load-time check of a session's inputs and outputs against it. Shapes are
 * read from the sessions, never assumed, except where the contract fixes them.
 */
import type { GraphKey } from './model-folder';

export type Dtype = 'float' | 'int64' | 'bool' | 'uint8';

export interface TensorRule {
  /** Accepted names; the first is the contract's own. */
  names: string[];
  dtype: Dtype;
  rank: number;
  /** May be absent (samexporter's onnxsim pass can drop positional encodings the decoder does not use). */
  optional?: boolean;
}

export interface GraphRule {
  inputs: TensorRule[];
  outputs: TensorRule[];
}

const t = (names: string | string[], dtype: Dtype, rank: number): TensorRule => ({
  names: Array.isArray(names) ? names : [names],
  dtype,
  rank,
});
const FPN = [t('fpn_feat_0', 'float', 4), t('fpn_feat_1', 'float', 4), t('fpn_feat_2', 'float', 4), t('fpn_pos_2', 'float', 4)];

export const CONTRACT: Record<GraphKey, GraphRule> = {
  vision: { inputs: [t(['images', 'pixel_values'], 'float', 4)], outputs: FPN },
  text: {
    inputs: [t('input_ids', 'int64', 2), t('attention_mask', 'int64', 2)],
    outputs: [t('text_features', 'float', 3), t('text_mask', 'bool', 2)],
  },
  decoder: {
    inputs: [
      ...FPN,
      t('text_features', 'float', 3),
      t('text_mask', 'bool', 2),
      t('input_boxes', 'float', 3),
      t('input_boxes_labels', 'int64', 2),
    ],
    outputs: [t('pred_masks', 'float', 4), t('pred_boxes', 'float', 3), t('pred_logits', 'float', 2), t('presence_logits', 'float', 2)],
  },
};

const opt = (rule: TensorRule): TensorRule => ({ ...rule, optional: true });
const VISION_OUT = [
  t('vision_pos_enc_0', 'float', 4), t('vision_pos_enc_1', 'float', 4), t('vision_pos_enc_2', 'float', 4),
  t('backbone_fpn_0', 'float', 4), t('backbone_fpn_1', 'float', 4), t('backbone_fpn_2', 'float', 4),
];

/**
 * samexporter's layout (docs/samexporter-layout.md): the image encoder takes
 * uint8 [3, S, S] and normalises inside; the text encoder takes only
 * `tokens` (padding 0, its mask is tokens == 0); the decoder takes the
 * original height and width and returns boxes, scores and full-size boolean
 * masks, keeping only scores above 0.5.
 */
export const SAMEXPORTER_CONTRACT: Record<GraphKey, GraphRule> = {
  vision: { inputs: [t('image', 'uint8', 3)], outputs: VISION_OUT },
  text: {
    inputs: [t('tokens', 'int64', 2)],
    outputs: [t('text_attention_mask', 'bool', 2), t('text_memory', 'float', 3), t('text_embeds', 'float', 3)],
  },
  decoder: {
    inputs: [
      t('original_height', 'int64', 0), t('original_width', 'int64', 0),
      opt(VISION_OUT[0]), opt(VISION_OUT[1]), ...VISION_OUT.slice(2),
      t('language_mask', 'bool', 2), t('language_features', 'float', 3), t('language_embeds', 'float', 3),
      t('box_coords', 'float', 3), t('box_labels', 'int64', 2), t('box_masks', 'bool', 2),
    ],
    outputs: [t('boxes', 'float', 2), t('scores', 'float', 1), t('masks', 'bool', 4)],
  },
};

/** The text encoder's outputs as the samexporter decoder names its inputs. */
export const SAMEXPORTER_TEXT_TO_DECODER: Record<string, string> = {
  text_attention_mask: 'language_mask',
  text_memory: 'language_features',
  text_embeds: 'language_embeds',
};

/** samexporter's decoder keeps only scores above this (Sam3Processor's confidence threshold, exported with it). */
export const SAMEXPORTER_SCORE_FLOOR = 0.5;

/** What a session reports about one input or output. */
export interface ValueInfo {
  name: string;
  /** onnxruntime's type name ('float32', 'float16', 'int64', 'bool', ...); undefined for non-tensors. */
  type?: string;
  shape: ReadonlyArray<number | string>;
}

function dtypeMatches(rule: Dtype, type: string | undefined): boolean {
  if (rule === 'float') return type === 'float32' || type === 'float16';
  return type === rule;
}

function describe(rule: TensorRule): string {
  const dt = rule.dtype === 'float' ? 'float32/float16' : rule.dtype;
  return `${rule.names.join(' or ')} (${dt}, rank ${rule.rank})`;
}

/**
 * Checks one side (inputs or outputs) of a graph; returns the problems found
 * and the name each rule resolved to.
 */
export function checkValues(
  graphFile: string,
  side: 'input' | 'output',
  rules: TensorRule[],
  values: readonly ValueInfo[],
): { problems: string[]; resolved: Map<string, ValueInfo> } {
  const problems: string[] = [];
  const resolved = new Map<string, ValueInfo>();
  for (const rule of rules) {
    const found = values.find((v) => rule.names.includes(v.name));
    if (!found && rule.optional) continue;
    if (!found) {
      problems.push(`${graphFile}: missing ${side} ${describe(rule)}; it has ${values.map((v) => v.name).join(', ') || 'none'}`);
      continue;
    }
    resolved.set(rule.names[0], found);
    if (!dtypeMatches(rule.dtype, found.type)) {
      problems.push(`${graphFile}: ${side} ${found.name} is ${found.type ?? 'not a tensor'}, expected ${describe(rule)}`);
    } else if (found.shape.length > 0 && found.shape.length !== rule.rank) {
      problems.push(`${graphFile}: ${side} ${found.name} has rank ${found.shape.length}, expected ${describe(rule)}`);
    }
  }
  return { problems, resolved };
}

/** A fixed dimension from a session shape, or undefined when symbolic. */
export function fixedDim(info: ValueInfo | undefined, axis: number): number | undefined {
  const d = info?.shape[axis];
  return typeof d === 'number' && d > 0 ? d : undefined;
}
