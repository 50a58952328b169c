/**
 * Moves the largest weight of an .onnx file into an external-data file beside
 * it, as big SAM 3 graphs ship (`<graph>.onnx.data`), so that the checks of
 * external weights run on a real graph onnxruntime can load.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';

/** Returns the data file's name and the bytes the graph reads from it. */
export async function externaliseLargestWeight(graphPath: string, dataName = `${path.basename(graphPath)}.data`): Promise<{ dataName: string; bytes: number }> {
  const model = onnx.ModelProto.decode(await fs.readFile(graphPath));
  const inits = model.graph?.initializer ?? [];
  const largest = inits.reduce((a, b) => ((b.rawData?.length ?? 0) > (a.rawData?.length ?? 0) ? b : a));
  const raw = largest.rawData as Uint8Array;
  await fs.writeFile(path.join(path.dirname(graphPath), dataName), raw);
  largest.rawData = new Uint8Array(0);
  largest.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  largest.externalData = [
    { key: 'location', value: dataName },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(raw.length) },
  ];
  await fs.writeFile(graphPath, onnx.ModelProto.encode(model).finish());
  return { dataName, bytes: raw.length };
}
