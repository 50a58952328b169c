/**
 * The heavy check: create an onnxruntime session (CPU) for each graph, as the
 * engine will, and compare what onnxruntime reports with the contract. Proves
 * that this machine's onnxruntime can run the files (operator sets, external
 * weights), at the price of loading every weight; so it is opt-in
 * (`sam3-model verify --load`) and one graph at a time.
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CONTRACT, checkValues, type ValueInfo } from '../engine';
import { GRAPH_STEMS, type GraphKey } from '../engine';

function infos(values: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return values.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : { name: v.name, shape: [] }));
}

export async function checkLoads(graphs: Record<GraphKey, string>): Promise<string[]> {
  const problems: string[] = [];
  for (const key of Object.keys(GRAPH_STEMS) as GraphKey[]) {
    const file = path.basename(graphs[key]);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(graphs[key], { executionProviders: ['cpu'] });
    } catch (err) {
      problems.push(`${file}: onnxruntime-node cannot load it: ${(err as Error).message}`);
      continue;
    }
    try {
      problems.push(...checkValues(file, 'input', CONTRACT[key].inputs, infos(session.inputMetadata)).problems);
      problems.push(...checkValues(file, 'output', CONTRACT[key].outputs, infos(session.outputMetadata)).problems);
    } finally {
      await session.release();
    }
  }
  return problems;
}
