/**
 * The SAM 3 ONNX contract (docs/sam3-onnx-contract.md) as data, and the
 * load-time check of a session's inputs and outputs against it. Shapes are
 * read from the sessions, never assumed, except where the contract fixes them.
 */
import type { GraphKey } from './model-folder';

export type Dtype = 'float' | 'int64' | 'bool';

export interface TensorRule {
  /** Accepted names; the first is the contract's own. */
  names: string[];
  dtype: Dtype;
  rank: number;
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
