/**
 * Phrases that mean "any text". The engine routes them to the bundled text
 * detector; the redactor hides their instances harder, since a text line's
 * shorter side is about one letter high and a blur scaled for a face would
 * leave large letters readable.
 */
export const TEXT_PROMPTS: readonly string[] = ['text', 'texts', 'words', 'writing', 'lettering', 'printed text', 'handwriting'];

export function isTextPrompt(label: string): boolean {
  return TEXT_PROMPTS.includes(label.trim().replace(/\s+/g, ' ').toLowerCase());
}
