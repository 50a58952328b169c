/**
 * Which backend answers each prompt: the first registered backend that
 * answers its phrase and is loaded (backends.ts), unless the prompt names
 * one, or the call says who answers text. Pure, so the Node-RED side can show
 * the plan without running anything.
 */
import type { Backend } from './backend';
import { registeredBackends } from './backends';
import { isTextPrompt, type PromptEntry } from './prompts';
import { CodedError } from '../common/coded-error';

/**
 * How text prompts are answered: 'auto' (default) by the text detector when
 * it is installed, else by SAM 3; 'ocr' always by the text detector; 'sam3'
 * always by SAM 3.
 */
export type TextBackendChoice = 'auto' | 'ocr' | 'sam3';

export interface RoutedPrompt extends PromptEntry {
  backend: string;
}

export function checkTextBackendChoice(choice: unknown): TextBackendChoice {
  if (choice === undefined) return 'auto';
  if (choice === 'auto' || choice === 'ocr' || choice === 'sam3') return choice;
  throw new CodedError('PROMPT_INVALID', `textBackend must be 'auto', 'ocr' or 'sam3', got ${JSON.stringify(choice)}`);
}

/** `loaded`: which backends are loaded, by name. */
export function routePrompts(
  entries: PromptEntry[],
  choice: TextBackendChoice,
  loaded: Readonly<Record<string, boolean>>,
  backends: readonly Backend[] = registeredBackends(),
): RoutedPrompt[] {
  return entries.map((e) => {
    if (e.backend) {
      if (!backends.some((b) => b.name === e.backend)) {
        throw new CodedError('PROMPT_INVALID', `backend for "${e.label}" must be one of ${backends.map((b) => `'${b.name}'`).join(', ')}, got ${JSON.stringify(e.backend)}`);
      }
      return { ...e, backend: e.backend };
    }
    if (choice !== 'auto' && isTextPrompt(e.label)) return { ...e, backend: choice };
    const answering = backends.filter((b) => b.answers(e.label));
    const chosen = answering.find((b) => loaded[b.name]) ?? answering[0];
    if (!chosen) throw new CodedError('PROMPT_INVALID', `no backend answers "${e.label}"`);
    return { ...e, backend: chosen.name };
  });
}
