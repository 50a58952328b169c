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
  /** The backend that answers the prompt. */
  backend: string;
  /** Backends that answer it too (SAM 3 beside the face detector, on images): their masks are united with its. */
  also: string[];
}

/**
 * When SAM 3 (if loaded) answers the phrases of backends that it joins
 * (faces): 'images' (default: photos only; on a CPU SAM 3 takes seconds an
 * image, the face detector milliseconds a frame), 'images-and-video', or
 * 'never'.
 */
export type Sam3Joins = 'images' | 'images-and-video' | 'never';

export interface RouteContext {
  choice?: TextBackendChoice;
  sam3Joins?: Sam3Joins;
  /** What is being segmented: a photo, or a frame of a video. */
  media?: 'image' | 'video';
}

export function checkSam3Joins(v: unknown): Sam3Joins {
  if (v === undefined) return 'images';
  if (v === 'images' || v === 'images-and-video' || v === 'never') return v;
  throw new CodedError('PROMPT_INVALID', `sam3Joins must be 'images', 'images-and-video' or 'never', got ${JSON.stringify(v)}`);
}

export function checkTextBackendChoice(choice: unknown): TextBackendChoice {
  if (choice === undefined) return 'auto';
  if (choice === 'auto' || choice === 'ocr' || choice === 'sam3') return choice;
  throw new CodedError('PROMPT_INVALID', `textBackend must be 'auto', 'ocr' or 'sam3', got ${JSON.stringify(choice)}`);
}

/** `loaded`: which backends are loaded, by name. */
export function routePrompts(
  entries: PromptEntry[],
  choice: TextBackendChoice | RouteContext,
  loaded: Readonly<Record<string, boolean>>,
  backends: readonly Backend[] = registeredBackends(),
): RoutedPrompt[] {
  const ctx: RouteContext = typeof choice === 'string' ? { choice } : choice;
  const joins = checkSam3Joins(ctx.sam3Joins);
  const sam3Joins = loaded.sam3 === true && (joins === 'images-and-video' || (joins === 'images' && ctx.media !== 'video'));
  return entries.map((e) => {
    const { backend, explicit } = pick(e, ctx.choice ?? 'auto', loaded, backends);
    // A backend the prompt or the call chose is the only one; otherwise SAM 3 joins the backends it joins.
    const joined = !explicit && sam3Joins && backend !== 'sam3' && backends.find((b) => b.name === backend)?.joinedBySam3 === true;
    return { ...e, backend, also: joined ? ['sam3'] : [] };
  });
}

function pick(e: PromptEntry, choice: TextBackendChoice, loaded: Readonly<Record<string, boolean>>, backends: readonly Backend[]): { backend: string; explicit: boolean } {
  if (e.backend) {
    if (!backends.some((b) => b.name === e.backend)) {
      throw new CodedError('PROMPT_INVALID', `backend for "${e.label}" must be one of ${backends.map((b) => `'${b.name}'`).join(', ')}, got ${JSON.stringify(e.backend)}`);
    }
    return { backend: e.backend, explicit: true };
  }
  if (choice !== 'auto' && isTextPrompt(e.label)) return { backend: choice, explicit: true };
  const answering = backends.filter((b) => b.answers(e.label));
  const chosen = answering.find((b) => loaded[b.name]) ?? answering[0];
  if (!chosen) throw new CodedError('PROMPT_INVALID', `no backend answers "${e.label}"`);
  return { backend: chosen.name, explicit: false };
}
