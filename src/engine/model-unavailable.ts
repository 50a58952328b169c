/** The error for prompts whose backend is not loaded: it names the prompts, why, and what to do. */

export class ModelUnavailableError extends Error {
  readonly code = 'MODEL_UNAVAILABLE';
  constructor(
    /** The backend the prompts need ('sam3', 'ocr', ...). */
    readonly backend: string,
    /** The prompts that could not be answered (empty for verification, which needs the recogniser). */
    readonly prompts: string[],
    /** Why the backend is not loaded. */
    readonly reason: string,
    /** The whole message, as the backend words it (what is missing and how to get it). */
    message: string,
    /** Where its model was looked for, when it has a folder. */
    readonly modelDir?: string,
  ) {
    super(message);
    this.name = 'ModelUnavailableError';
  }
}
