import type { Node } from 'node-red';
import type { SharedEngine } from './shared-engine';

/** What a sam3-model config node offers the nodes that use it. */
export interface Sam3ModelNode extends Node {
  shared: SharedEngine;
  threshold: number;
}
