/**
 * Explanations for folders that hold some other SAM export than the 3-file
 * split the engine runs: a user who downloaded the wrong thing should learn
 * that, not just read "missing vision-encoder.onnx".
 */
import { GRAPH_STEMS, SAMEXPORTER_FILES } from '../engine';

export function layoutHints(names: string[], subfolders: string[]): string[] {
  const has = (n: string): boolean => names.includes(n);
  const hints: string[] = [];
  const samexporter = Object.values(SAMEXPORTER_FILES);
  if (samexporter.some(has) && !samexporter.every(has)) {
    hints.push(`this looks like samexporter's export, but ${samexporter.filter((f) => !has(f)).join(', ')} is missing: it needs all of ${samexporter.join(', ')}`);
  }
  if (has('prompt_encoder_mask_decoder.onnx')) {
    hints.push('this looks like the SAM 3 tracker export (points and boxes only, no text prompts), which this engine does not run');
  }
  if (has('geometry-encoder.onnx')) {
    hints.push('geometry-encoder.onnx belongs to the older 4-file split; export the 3-file split instead (usls scripts/sam3-image/export_v2.py)');
  } else if (has('decoder.onnx') && has(`${GRAPH_STEMS.vision}.onnx`)) {
    hints.push(
      `if decoder.onnx is the 3-file split's decoder (inputs fpn_feat_0 ... input_boxes_labels), rename it ${GRAPH_STEMS.decoder}.onnx and check again`,
    );
  }
  for (const sub of subfolders) hints.push(`graphs were found in the subfolder ${sub}: point the model folder at it`);
  return hints;
}
