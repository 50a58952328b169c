/**
 * Messages between the engine (Node-RED's process) and its inference host
 * process. The envelope is the same for every backend: a request names the
 * backend and one of its operations; each backend's protocol.ts types its
 * own operations (OpTable), and its host side serves them (HostSide).
 */

/** A backend's operations: each with the payload it takes and the value it answers. */
export type OpTable = Record<string, { payload: unknown; value: unknown }>;

/** The operation every backend has: load its model from a spec, answering what it loaded. */
export const LOAD = 'load';

export interface HostRequest {
  id: number;
  backend: string;
  op: string;
  payload: unknown;
  /** With 'load': the compiled module of the backend's host side, which the host requires. */
  module?: string;
}

export type HostReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

/** What a backend's host side module exports as `hostSide`: run in the host process only. */
export interface HostSide {
  load(spec: unknown): Promise<unknown>;
  /** Its operations by name; each takes the payload its OpTable entry says. */
  ops: Record<string, (payload: never) => Promise<unknown>>;
  release?(): Promise<void>;
}
