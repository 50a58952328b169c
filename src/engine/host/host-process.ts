/**
 * Entry point of the inference host: a child process that owns every
 * backend's onnxruntime sessions. onnxruntime-node's run() blocks its event
 * loop for the whole inference, and a native crash takes its process with
 * it, so both happen here rather than in Node-RED's process. One process for
 * every model: several onnxruntime hosts per process are known to crash.
 *
 * This file is the dispatch only: a backend's host side is a module the
 * engine names when it loads the backend (HostSide), and requests are routed
 * to it by backend name.
 */
import { LOAD, type HostReply, type HostRequest, type HostSide } from './protocol';

const sides = new Map<string, HostSide>();

async function load(req: HostRequest): Promise<unknown> {
  if (!req.module) throw new Error(`loading ${req.backend}: no host module was named`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const side = (require(req.module) as { hostSide?: HostSide }).hostSide;
  if (!side || typeof side.load !== 'function') throw new Error(`${req.module} exports no hostSide`);
  await sides.get(req.backend)?.release?.();
  sides.delete(req.backend);
  const info = await side.load(req.payload);
  sides.set(req.backend, side);
  return info;
}

function serve(req: HostRequest): Promise<unknown> {
  if (req.op === LOAD) return load(req);
  const side = sides.get(req.backend);
  if (!side) return Promise.reject(new Error(`inference host has no ${req.backend} model loaded`));
  const op = side.ops[req.op];
  if (!op) return Promise.reject(new Error(`the ${req.backend} backend has no operation '${req.op}'`));
  return op(req.payload as never);
}

function reply(message: HostReply): void {
  process.send?.(message);
}

// One request at a time: two images in flight would hold two sets of
// vision features (about 200 MB at the real model's size) for no speed gain.
let queue: Promise<unknown> = Promise.resolve();

process.on('message', (raw: unknown) => {
  const req = raw as HostRequest;
  const work = queue.then(() => serve(req));
  queue = work.catch(() => undefined);
  work.then(
    (value) => reply({ id: req.id, ok: true, value }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      reply({ id: req.id, ok: false, error: { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) } });
    },
  );
});

// The engine's process went away: nothing is left to serve.
process.on('disconnect', () => process.exit(0));
