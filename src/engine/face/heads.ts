/**
 * Heads of people too small for the face detector. UltraFace finds faces
 * from about 12 px, and on a real surveillance clip (opencv-doc's vtest.avi,
 * 768 x 576, people 75 to 130 px tall) it found none of the 10 to 16 px faces
 * walking towards the camera, while the person detector found every person.
 * A missed face is a leak, so where a person is small enough that its face
 * would sit below twice what the detector finds, the top of that person
 * is covered as a face: the head, whichever way it is turned.
 */
import { boxArea, boxFill, growBox, intersectionArea, iou } from '../../common/boxes';
import type { Box, Instance } from '../../common/types';
import type { PromptSpec } from '../backend';
import type { RawInstance } from '../instances';

/** The person prompt the face backend asks the person detector for (its own label, never a user's). */
const HEAD_PERSONS = 'face/person';
/** The person detector's own default: people far away score 0.3 to 0.45. */
const HEAD_PERSON_THRESHOLD = 0.3;
/** Person boxes come grown by this share on every side (objects/backend.ts OBJECT_GROW). */
const PERSON_GROW = 0.1;
/**
 * Heads are covered for people whose face would be under this many pixels:
 * twice the smallest face the detector finds, whatever *smallest face* says.
 * Tied to that setting, 24 px covered people up to twice as tall, and the
 * face row with it ran slower than the default (0.295 against 0.35): the
 * setting is there to look for less.
 */
const HEAD_FACE_BELOW = 24;
/** A standing adult's face, forehead to chin, is about an eighth of its height: 0.55 of the head below. */
const FACE_OF_HEAD = 0.55;
/**
 * A face found with at least this share of it inside a head box is that
 * head's face. Not less: in a crowd a neighbour's face can reach into a
 * head box, and that head would then go uncovered.
 */
const FACE_IN_HEAD = 0.5;
/** Head boxes overlapping this much are one head. */
const SAME_HEAD = 0.6;

export function headPrompt(): PromptSpec {
  return { text: 'person', label: HEAD_PERSONS, threshold: HEAD_PERSON_THRESHOLD };
}

/**
 * Above the person box's top, this share of its height is covered too: a
 * box can start at the shoulders (measured: a man behind a pole and a sign,
 * 65 px tall, boxed from 16 px below the top of his head).
 */
const ABOVE = 0.3;

/**
 * The head of a person box as the detector gives it: the top of the person,
 * 0.23 of its height (head and a little neck) or, for a bust or a seated
 * person whose box is wide, 0.45 of its width, whichever is more, and
 * ABOVE; 0.3 of its height wide (a head leans, arms swing, and a box cut by
 * a pole or a sign is off centre) but never wider than the person. `face`:
 * the size of the face it holds, about an eighth of a standing adult.
 */
function headOf(person: Box): { box: Box; face: number } {
  const gw = person[2] - person[0];
  const gh = person[3] - person[1];
  const w = gw / (1 + 2 * PERSON_GROW);
  const h = gh / (1 + 2 * PERSON_GROW);
  const top = person[1] + PERSON_GROW * h;
  const cx = (person[0] + person[2]) / 2;
  const headH = Math.min(h, Math.max(0.23 * h, 0.45 * w));
  const headW = Math.min(w, Math.max(0.3 * h, headH));
  return { box: [cx - headW / 2, top - ABOVE * h, cx + headW / 2, top + headH], face: FACE_OF_HEAD * headH };
}

/**
 * Head covers for the face prompts, from the person detector's instances:
 * one per person whose face would be under HEAD_FACE_BELOW and whose
 * head is not a face the face detector found (that face is covered already,
 * and in video keeps its one track), scored as the person was.
 */
export function headCovers(persons: Instance[], faces: Instance[], prompts: PromptSpec[], width: number, height: number): RawInstance[] {
  const out: RawInstance[] = [];
  const kept: Box[] = [];
  for (const person of [...persons].sort((a, b) => b.score - a.score)) {
    const { box: head, face } = headOf(person.box);
    if (face >= HEAD_FACE_BELOW) continue;
    if (faces.some((f) => intersectionArea(head, f.box) >= FACE_IN_HEAD * boxArea(f.box))) continue;
    // The whole image and tiles see one person several times, with boxes a little apart: one cover.
    if (kept.some((k) => iou(k, head) > SAME_HEAD)) continue;
    kept.push(head);
    // A box, not an ellipse: where the head sits in it is a guess, and an ellipse leaves the corners.
    const box = growBox(head, 0, 0, width, height);
    if (!box) continue;
    for (const p of prompts) out.push({ label: p.label, score: person.score, box, mask: boxFill(box), source: 0 });
  }
  return out;
}
