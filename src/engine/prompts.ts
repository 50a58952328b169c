/**
 * Prompts as callers write them ("face, license plate" or a list with
 * per-prompt thresholds), validated once, and the concepts the bundled text
 * detector answers instead of SAM 3.
 */
import type { PromptSpec } from './backend';
import { isTextPrompt, TEXT_PROMPTS } from '../common/concepts';
import { CodedError } from '../common/coded-error';

export { isTextPrompt, TEXT_PROMPTS };

/** A backend's name: 'sam3' (any phrase), 'ocr' (the bundled text detector), or a registered one's. */
export type ConceptBackendName = string;

/** A prompt: its text, and optionally its own score threshold and the backend that must answer it. */
export type Prompt = string | { text: string; threshold?: number; backend?: ConceptBackendName };

/** A validated prompt before any default threshold is applied. */
export interface PromptEntry {
  label: string;
  /** The prompt's own threshold, when it has one. */
  threshold?: number;
  backend?: ConceptBackendName;
}

/** Splits and validates prompts; duplicates (same label) keep the first. */
export function readPrompts(prompts: Prompt[] | string): PromptEntry[] {
  const list: Prompt[] = typeof prompts === 'string' ? prompts.split(',') : prompts;
  if (!Array.isArray(list)) throw new CodedError('PROMPT_INVALID', 'prompts must be a string like "face, license plate" or an array of prompts');
  const entries: PromptEntry[] = [];
  for (const p of list) {
    const text = typeof p === 'string' ? p : p && typeof p === 'object' ? p.text : undefined;
    if (typeof text !== 'string') throw new CodedError('PROMPT_INVALID', `each prompt must be a string or { text, threshold }, got ${JSON.stringify(p)}`);
    const label = text.trim().replace(/\s+/g, ' ');
    if (!label) continue;
    const entry: PromptEntry = { label };
    if (typeof p === 'object') {
      if (p.threshold !== undefined) {
        if (typeof p.threshold !== 'number' || !(p.threshold >= 0 && p.threshold <= 1)) {
          throw new CodedError('PROMPT_INVALID', `threshold for "${label}" must be a number from 0 to 1, got ${String(p.threshold)}`);
        }
        entry.threshold = p.threshold;
      }
      if (p.backend !== undefined) {
        // Checked against the registered backends when routed.
        if (typeof p.backend !== 'string' || !p.backend) throw new CodedError('PROMPT_INVALID', `backend for "${label}" must be a backend's name, got ${JSON.stringify(p.backend)}`);
        entry.backend = p.backend;
      }
    }
    if (!entries.some((e) => e.label === label)) entries.push(entry);
  }
  if (entries.length === 0) throw new CodedError('PROMPT_INVALID', 'no prompt given: say what to find, e.g. "face, license plate"');
  return entries;
}

export function checkThreshold(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new CodedError('PROMPT_INVALID', `${name} must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}

/** The entry with its threshold settled, as the host takes it. */
export function toSpec(entry: PromptEntry, defaultThreshold: number): PromptSpec {
  return { text: entry.label, label: entry.label, threshold: entry.threshold ?? defaultThreshold };
}

/** Splits "face, license plate" or a list of prompts into prompt specs, validated. */
export function parsePrompts(prompts: Prompt[] | string, defaultThreshold: number): PromptSpec[] {
  checkThreshold('threshold', defaultThreshold);
  return readPrompts(prompts).map((e) => toSpec(e, defaultThreshold));
}
