/**
 * Every backend the engine routes prompts to, in the order routing asks
 * them: a phrase goes to the first backend that answers it and is loaded
 * (or, when none is loaded, to the first that answers it, whose error then
 * says how to get it). Adding a backend is one folder and one line here.
 */
import type { Backend } from './backend';
import { faceBackend } from './face/backend';
import { objectBackend } from './objects/backend';
import { plateBackend } from './plates/backend';
import { sam3Backend } from './sam3/backend';
import { textBackend } from './text/backend';
import { CodedError } from '../common/coded-error';

const registry: Backend[] = [
  faceBackend,
  textBackend,
  objectBackend,
  plateBackend,
  sam3Backend, // any phrase: always last
];

export function registeredBackends(): readonly Backend[] {
  return registry;
}

export function backendNamed(name: string): Backend | undefined {
  return registry.find((b) => b.name === name);
}

/**
 * Adds a backend (a plug-in, or a test's fixture backend) ahead of SAM 3,
 * which answers any phrase; returns a function that removes it again.
 */
export function registerBackend(backend: Backend): () => void {
  if (backendNamed(backend.name)) throw new CodedError('BACKEND_DUPLICATE', `a backend named '${backend.name}' is already registered`);
  registry.splice(Math.max(0, registry.indexOf(sam3Backend)), 0, backend);
  return () => {
    const i = registry.indexOf(backend);
    if (i >= 0) registry.splice(i, 1);
  };
}
