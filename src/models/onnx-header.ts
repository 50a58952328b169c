/**
 * Reads what a model check needs from an .onnx file (opsets, graph inputs and
 * outputs, external-data references) by walking the protobuf wire format and
 * seeking past everything else. Creating an onnxruntime session to learn the
 * same thing would load every weight (gigabytes for SAM 3) into memory, which
 * the editor's "Check folder" button must not do inside Node-RED.
 */
import { promises as fs } from 'node:fs';
import type { ValueInfo } from '../engine';

export interface ExternalDataRef {
  /** The file name as written in the graph, relative to the graph's folder. */
  location: string;
  /** Bytes the graph reads from it (max offset + length); undefined if a tensor gives no length. */
  needsBytes?: number;
}

export interface OnnxHeader {
  irVersion?: number;
  /** Opset of the default ('' or 'ai.onnx') domain. */
  opset?: number;
  producer?: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  externalData: ExternalDataRef[];
}

export class OnnxReadError extends Error {
  readonly code = 'ONNX_UNREADABLE';
  constructor(message: string) {
    super(message);
    this.name = 'OnnxReadError';
  }
}

/** onnx TensorProto.DataType -> onnxruntime's type names, so contract checks read the same either way. */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

const WINDOW = 64 * 1024;

/** Positional reads through a small window, so skipping a 1 GB weight costs nothing. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly size: number,
  ) {}

  private async fill(at: number, need: number): Promise<void> {
    const length = Math.max(need, Math.min(WINDOW, this.size - at));
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, at);
    this.buf = buf.subarray(0, bytesRead);
    this.bufStart = at;
  }

  async bytes(n: number): Promise<Buffer> {
    if (this.pos + n > this.size) throw new OnnxReadError(`ends early (a field at byte ${this.pos} needs ${n} bytes)`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) await this.fill(this.pos, n);
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  async varint(): Promise<number> {
    // Multiplication, not shifts, so values above 2^31 stay right (to 2^53).
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = (await this.bytes(1))[0];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new OnnxReadError(`has a malformed number at byte ${this.pos}`);
  }

  skip(n: number, end: number): void {
    if (this.pos + n > end) throw new OnnxReadError(`ends early (a field at byte ${this.pos} claims ${n} bytes)`);
    this.pos += n;
  }
}

interface Field {
  no: number;
  wire: number;
}

async function nextField(c: Cursor): Promise<Field> {
  const tag = await c.varint();
  return { no: Math.floor(tag / 8), wire: tag % 8 };
}

/** Skips a field's value; returns nothing because callers only skip what they do not read. */
async function skipValue(c: Cursor, wire: number, end: number): Promise<void> {
  if (wire === 0) await c.varint();
  else if (wire === 1) c.skip(8, end);
  else if (wire === 2) c.skip(await c.varint(), end);
  else if (wire === 5) c.skip(4, end);
  else throw new OnnxReadError(`uses protobuf wire type ${wire} at byte ${c.pos}; not an ONNX model`);
}

/** Calls `onField` for each field of the message that ends at `end`; it returns false to have the value skipped. */
async function walk(c: Cursor, end: number, onField: (f: Field) => Promise<boolean>): Promise<void> {
  while (c.pos < end) {
    const f = await nextField(c);
    if (!(await onField(f))) await skipValue(c, f.wire, end);
  }
  if (c.pos !== end) throw new OnnxReadError(`has a message that overruns its length at byte ${c.pos}`);
}

async function lengthEnd(c: Cursor, f: Field): Promise<number | undefined> {
  if (f.wire !== 2) return undefined;
  const len = await c.varint();
  if (c.pos + len > c.size) throw new OnnxReadError(`ends early (a field at byte ${c.pos} claims ${len} bytes of ${c.size - c.pos} left)`);
  return c.pos + len;
}

/** A string field's value; a field of another wire type is skipped, so callers may always say it was read. */
async function str(c: Cursor, f: Field): Promise<string | undefined> {
  const end = await lengthEnd(c, f);
  if (end === undefined) {
    await skipValue(c, f.wire, c.size);
    return undefined;
  }
  return (await c.bytes(end - c.pos)).toString('utf8');
}

async function readShape(c: Cursor, end: number): Promise<Array<number | string>> {
  const dims: Array<number | string> = [];
  await walk(c, end, async (f) => {
    if (f.no !== 1 || f.wire !== 2) return false;
    const dimEnd = (await lengthEnd(c, f)) as number;
    let dim: number | string = '?';
    await walk(c, dimEnd, async (d) => {
      if (d.no === 1 && d.wire === 0) {
        const v = await c.varint();
        // A negative int64 arrives as a huge varint: unknown, as onnxruntime shows it.
        dim = v <= Number.MAX_SAFE_INTEGER ? v : '?';
        return true;
      }
      if (d.no === 2) {
        dim = (await str(c, d)) ?? '?';
        return true;
      }
      return false;
    });
    dims.push(dim);
    return true;
  });
  return dims;
}

async function readValueInfo(c: Cursor, end: number): Promise<ValueInfo> {
  let name = '';
  let type: string | undefined;
  let shape: Array<number | string> = [];
  await walk(c, end, async (f) => {
    if (f.no === 1) {
      name = (await str(c, f)) ?? '';
      return true;
    }
    if (f.no !== 2 || f.wire !== 2) return false;
    const typeEnd = (await lengthEnd(c, f)) as number;
    await walk(c, typeEnd, async (t) => {
      // Only tensor_type (1); sequences, maps and optionals stay typeless, as onnxruntime reports non-tensors.
      if (t.no !== 1 || t.wire !== 2) return false;
      const tensorEnd = (await lengthEnd(c, t)) as number;
      await walk(c, tensorEnd, async (x) => {
        if (x.no === 1 && x.wire === 0) {
          const code = await c.varint();
          type = ELEM_TYPES[code] ?? `onnx-type-${code}`;
          return true;
        }
        if (x.no === 2 && x.wire === 2) {
          shape = await readShape(c, (await lengthEnd(c, x)) as number);
          return true;
        }
        return false;
      });
      return true;
    });
    return true;
  });
  return { name, type, shape };
}

interface Initializer {
  name: string;
  external?: { location?: string; end?: number };
}

async function readInitializer(c: Cursor, end: number): Promise<Initializer> {
  let name = '';
  let external = false;
  const kv = new Map<string, string>();
  await walk(c, end, async (f) => {
    if (f.no === 8) {
      name = (await str(c, f)) ?? '';
      return true;
    }
    if (f.no === 14 && f.wire === 0) {
      external = (await c.varint()) === 1;
      return true;
    }
    if (f.no === 13 && f.wire === 2) {
      const entryEnd = (await lengthEnd(c, f)) as number;
      let key = '';
      let value = '';
      await walk(c, entryEnd, async (e) => {
        if (e.no === 1) key = (await str(c, e)) ?? '';
        else if (e.no === 2) value = (await str(c, e)) ?? '';
        else return false;
        return true;
      });
      kv.set(key, value);
      return true;
    }
    return false;
  });
  if (!external) return { name };
  const offset = Number(kv.get('offset') ?? 0);
  const length = kv.has('length') ? Number(kv.get('length')) : undefined;
  return { name, external: { location: kv.get('location'), end: length === undefined ? undefined : offset + length } };
}

/** Reads the header of the ONNX model at `file`; throws OnnxReadError when it is not one. */
export async function readOnnxHeader(file: string): Promise<OnnxHeader> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new OnnxReadError('is empty');
    const c = new Cursor(handle, size);
    const header: OnnxHeader = { inputs: [], outputs: [], externalData: [] };
    const initNames = new Set<string>();
    const external = new Map<string, number | undefined>();
    let sawGraph = false;
    await walk(c, size, async (f) => {
      if (f.no === 1 && f.wire === 0) {
        header.irVersion = await c.varint();
        return true;
      }
      if (f.no === 2) {
        header.producer = await str(c, f);
        return true;
      }
      if (f.no === 8 && f.wire === 2) {
        const end = (await lengthEnd(c, f)) as number;
        let domain = '';
        let version: number | undefined;
        await walk(c, end, async (o) => {
          if (o.no === 1) domain = (await str(c, o)) ?? '';
          else if (o.no === 2 && o.wire === 0) version = await c.varint();
          else return false;
          return true;
        });
        if (domain === '' || domain === 'ai.onnx') header.opset = version;
        return true;
      }
      if (f.no !== 7 || f.wire !== 2) return false;
      sawGraph = true;
      const graphEnd = (await lengthEnd(c, f)) as number;
      await walk(c, graphEnd, async (g) => {
        if (g.wire !== 2 || (g.no !== 5 && g.no !== 11 && g.no !== 12)) return false;
        const end = (await lengthEnd(c, g)) as number;
        if (g.no === 5) {
          const init = await readInitializer(c, end);
          initNames.add(init.name);
          if (init.external?.location !== undefined) {
            const prev = external.has(init.external.location) ? external.get(init.external.location) : 0;
            const next = init.external.end;
            external.set(init.external.location, prev === undefined || next === undefined ? undefined : Math.max(prev, next));
          }
        } else {
          (g.no === 11 ? header.inputs : header.outputs).push(await readValueInfo(c, end));
        }
        return true;
      });
      return true;
    });
    if (!sawGraph) throw new OnnxReadError('has no graph');
    // Older exports list weights among the inputs; onnxruntime does not show them as inputs either.
    header.inputs = header.inputs.filter((v) => !initNames.has(v.name));
    header.externalData = [...external].map(([location, needsBytes]) => ({ location, needsBytes }));
    return header;
  } finally {
    await handle.close();
  }
}
