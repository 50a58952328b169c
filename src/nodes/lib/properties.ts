/** Reading and writing the message properties a node is configured with. */
import type { Node, NodeAPI, NodeMessage } from 'node-red';

export type PropertyType = 'msg' | 'flow' | 'global';

/** Reads a TypedInput property (msg, flow or global context). */
export function readProperty(RED: NodeAPI, node: Node, msg: NodeMessage, name: string, type: PropertyType): unknown {
  return RED.util.evaluateNodeProperty(name, type, node, msg);
}

/** Writes a msg property by path (e.g. "payload" or "redacted.image"). */
export function writeMsgProperty(RED: NodeAPI, msg: NodeMessage, name: string, value: unknown): void {
  RED.util.setMessageProperty(msg, name, value, true);
}

/** A number from an editor field, or the fallback when the field is blank or not a number. */
export function numberField(value: unknown, fallback: number): number {
  if (value === '' || value === undefined || value === null) return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}
