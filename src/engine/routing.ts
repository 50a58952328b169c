/**
 * Which concept backend answers each prompt: the bundled text detector for
 * "text" and its synonyms, SAM 3 for everything else, unless a prompt or the
 * call says otherwise. Pure, so the Node-RED side can show the plan without
 * running anything.
 */
import { isTextPrompt, type ConceptBackendName, type PromptEntry } from './prompts';

/**
 * How text prompts are answered: 'auto' (default) by the text detector when
 * it is installed, else by SAM 3; 'ocr' always by the text detector; 'sam3'
 * always by SAM 3.
 */
export type TextBackendChoice = 'auto' | 'ocr' | 'sam3';

export interface Availability {
  sam3: boolean;
  text: boolean;
}

export interface RoutedPrompt extends PromptEntry {
  backend: ConceptBackendName;
}

export function checkTextBackendChoice(choice: unknown): TextBackendChoice {
  if (choice === undefined) return 'auto';
  if (choice === 'auto' || choice === 'ocr' || choice === 'sam3') return choice;
  throw new RangeError(`textBackend must be 'auto', 'ocr' or 'sam3', got ${JSON.stringify(choice)}`);
}

export function routePrompts(entries: PromptEntry[], choice: TextBackendChoice, available: Availability): RoutedPrompt[] {
  return entries.map((e) => {
    if (e.backend) return { ...e, backend: e.backend };
    if (!isTextPrompt(e.label)) return { ...e, backend: 'sam3' };
    if (choice === 'ocr' || choice === 'sam3') return { ...e, backend: choice };
    return { ...e, backend: available.text || !available.sam3 ? 'ocr' : 'sam3' };
  });
}
