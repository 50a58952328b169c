/**
 * The recogniser's output, one distribution over characters per horizontal
 * step, read back as text by CTC greedy decoding (PaddleOCR's CTCLabelDecode).
 */

export interface TextReading {
  text: string;
  /** Mean probability of the characters kept; 0 when nothing was read. */
  confidence: number;
}

/**
 * PaddleOCR's character list: index 0 is the CTC blank, then one character
 * per line of the keys file, then the space it appends (use_space_char).
 */
export function characterList(keysFile: string): string[] {
  const keys = keysFile.split('\n').map((l) => l.replace(/\r$/, ''));
  if (keys.length > 0 && keys[keys.length - 1] === '') keys.pop();
  return ['', ...keys, ' '];
}

/** Best class per step; repeats collapse and blanks drop, as CTC defines. */
export function ctcGreedy(probs: Float32Array, offset: number, steps: number, classes: number, chars: string[]): TextReading {
  let text = '';
  let sum = 0, kept = 0, previous = -1;
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes;
    let best = 0, bestP = probs[base];
    for (let c = 1; c < classes; c++) {
      if (probs[base + c] > bestP) {
        bestP = probs[base + c];
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += chars[best] ?? '';
      sum += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept ? sum / kept : 0 };
}
