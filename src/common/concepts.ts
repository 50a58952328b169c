/**
 * The one table of phrases the bundled detectors answer, by backend. A
 * phrase is matched however it is written (case, extra spaces); anything
 * else goes to SAM 3. The editor's help and README show this table, and a
 * test keeps them equal to it.
 *
 * Text phrases are also why the redactor hides text harder: a text line's
 * shorter side is about one letter high, and a blur scaled for a face would
 * leave large letters readable.
 */
export const CONCEPTS = {
  /** The bundled face detector. */
  face: ['face', 'faces', 'human face', 'human faces'],
  /** The bundled text detector. */
  ocr: ['text', 'texts', 'words', 'writing', 'lettering', 'printed text', 'handwriting'],
  /** The bundled person and vehicle detector. */
  objects: [
    'person', 'persons', 'people', 'pedestrian', 'pedestrians', 'human', 'humans',
    'vehicle', 'vehicles', 'car', 'cars', 'truck', 'trucks', 'bus', 'buses',
    'motorcycle', 'motorcycles', 'motorbike', 'motorbikes', 'bicycle', 'bicycles', 'bike', 'bikes',
  ],
  /** Plates: text lines on vehicles, and plate-shaped text anywhere (the bare word "plate" goes to SAM 3: dinner plates). */
  plates: ['license plate', 'license plates', 'licence plate', 'licence plates', 'number plate', 'number plates', 'registration plate', 'registration plates'],
} as const satisfies Record<string, readonly string[]>;

export const TEXT_PROMPTS: readonly string[] = CONCEPTS.ocr;
export const FACE_PROMPTS: readonly string[] = CONCEPTS.face;
export const OBJECT_PROMPTS: readonly string[] = CONCEPTS.objects;
export const PLATE_PROMPTS: readonly string[] = CONCEPTS.plates;

export const normalisePhrase = (label: string): string => label.trim().replace(/\s+/g, ' ').toLowerCase();

export function isTextPrompt(label: string): boolean {
  return TEXT_PROMPTS.includes(normalisePhrase(label));
}

export function isFacePrompt(label: string): boolean {
  return FACE_PROMPTS.includes(normalisePhrase(label));
}

export function isObjectPrompt(label: string): boolean {
  return OBJECT_PROMPTS.includes(normalisePhrase(label));
}

export function isPlatePrompt(label: string): boolean {
  return PLATE_PROMPTS.includes(normalisePhrase(label));
}
