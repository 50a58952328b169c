/**
 * An error with a stable code (docs/errors.md), for the places that need no
 * class of their own: callers and nodes decide from the code, never from the
 * message text.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}
