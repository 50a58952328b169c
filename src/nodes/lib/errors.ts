/**
 * Errors as data on the Node-RED side. Every error the package raises has a
 * stable `code` (docs/errors.md); a node chooses its status, the locale
 * string it shows and what a Catch node sees from that code, never from the
 * message text.
 */
import type { NodeAPI, NodeStatus } from 'node-red';

/** An error raised by a node itself, worded from its locale. */
export class NodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeError';
  }
}

export function nodeError(RED: NodeAPI, code: string, key: string, params: Record<string, string | number> = {}): NodeError {
  return new NodeError(code, RED._(key, params));
}

export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** Errors that end a message without a word: what caused them was reported once already, elsewhere. */
const SILENT = new Set(['CLAIM_ENDED']);

/** The short status for a code, as a key under `<node>.status.` in the node's locale. */
function statusKey(code: string): string {
  if (code.startsWith('MODEL_')) return 'missing';
  if (code.startsWith('IMAGE_') || code.startsWith('VIDEO_') || code === 'FRAME_INVALID' || code === 'UNKNOWN_JOB' || code === 'NOT_A_FRAME') return 'bad-input';
  switch (code) {
    case 'PATH_NOT_ALLOWED':
      return 'refused';
    case 'QUEUE_FULL':
      return 'busy';
    case 'INFERENCE_HOST_DIED':
      return 'crashed';
    case 'STILL_LEGIBLE':
      return 'legible';
    default:
      return 'error';
  }
}

export function errorStatus(RED: NodeAPI, type: string, err: unknown): NodeStatus {
  return { fill: 'red', shape: 'ring', text: RED._(`${type}.status.${statusKey(codeOf(err))}`) };
}

/**
 * Ends a message that failed: silently for the codes that were reported
 * elsewhere, else with the status for its code and done(err) for Catch nodes.
 */
export function failMessage(RED: NodeAPI, type: string, err: unknown, done: (err?: Error) => void, show: (s: NodeStatus) => void): void {
  if (SILENT.has(codeOf(err))) return done();
  show(errorStatus(RED, type, err));
  done(err instanceof Error ? err : new Error(String(err)));
}
