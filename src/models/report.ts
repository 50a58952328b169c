/**
 * What a model-folder check finds: one plain, JSON-ready shape shared by the
 * CLI (`sam3-model verify|info`), `fetch` (which checks before installing) and
 * the editor's "Check folder" button.
 */
import type { ModelLayout } from '../engine';
import type { ValueInfo } from '../engine';
import type { GraphKey } from '../engine';

export interface ExternalDataReport {
  file: string;
  /** Undefined when the file is missing. */
  bytes?: number;
}

export interface GraphReport {
  key: GraphKey;
  /** File name inside the folder. */
  file: string;
  /** The graph file plus its external-data files. */
  bytes: number;
  irVersion?: number;
  opset?: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  externalData: ExternalDataReport[];
}

export interface FileSize {
  file: string;
  bytes: number;
}

export interface VerifyResult {
  ok: boolean;
  /** Absolute folder checked. */
  dir: string;
  /** Which export layout the folder holds: usls' 3-file split or samexporter's; undefined when it is neither. */
  layout?: ModelLayout;
  /** The variant checked: '' for the plain fp32 files, 'fp16', 'q4f16', ...; undefined when the folder could not be read. */
  variant?: string;
  /** Variants with all three graphs in the folder, in the engine's order of preference. */
  variants: string[];
  /** Each thing that stops the engine loading this variant; empty when ok. */
  problems: string[];
  /** Things worth knowing that do not stop it. */
  warnings: string[];
  graphs: GraphReport[];
  /** The encoder's input side S, and where it was read. */
  imageSize?: number;
  imageSizeFrom?: 'graph' | 'config.json' | 'default';
  sizes: {
    /** The checked variant's graphs and their weights. */
    variant: number;
    /** tokenizer.json, tokenizer_config.json, config.json. */
    shared: number;
    /** Every file in the folder, all variants included. */
    folder: number;
    files: FileSize[];
  };
}

/** How a variant is shown to people: '' is the unsuffixed fp32 set. */
export function variantLabel(variant: string | undefined): string {
  return variant === undefined ? 'none' : variant === '' ? 'fp32' : variant;
}
