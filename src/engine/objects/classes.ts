/**
 * Which of the detector's COCO classes each phrase stands for. Phrases that
 * the detector often confuses cover each other (a pickup or a van is often
 * scored as a truck when it is asked for as a car): a missed vehicle is a
 * leak, a truck hidden as a car is not.
 */
import { normalisePhrase } from '../../common/concepts';

/** Class indices of the detector's 80 COCO outputs. */
export const COCO = { person: 0, bicycle: 1, car: 2, motorcycle: 3, bus: 5, truck: 7 } as const;

const PERSON = [COCO.person];
const VEHICLE = [COCO.car, COCO.motorcycle, COCO.bus, COCO.truck];

const BY_PHRASE: Record<string, readonly number[]> = {
  person: PERSON, persons: PERSON, people: PERSON, pedestrian: PERSON, pedestrians: PERSON, human: PERSON, humans: PERSON,
  vehicle: VEHICLE, vehicles: VEHICLE,
  car: [COCO.car, COCO.truck], cars: [COCO.car, COCO.truck],
  truck: [COCO.truck, COCO.car], trucks: [COCO.truck, COCO.car],
  bus: [COCO.bus], buses: [COCO.bus],
  motorcycle: [COCO.motorcycle], motorcycles: [COCO.motorcycle], motorbike: [COCO.motorcycle], motorbikes: [COCO.motorcycle],
  bicycle: [COCO.bicycle], bicycles: [COCO.bicycle],
  bike: [COCO.bicycle, COCO.motorcycle], bikes: [COCO.bicycle, COCO.motorcycle],
};

/** The classes a phrase asks for; empty when the detector does not answer it. */
export function classesOf(label: string): readonly number[] {
  return BY_PHRASE[normalisePhrase(label)] ?? [];
}

/** The classes of every vehicle: what plates look inside. */
export const VEHICLE_CLASSES: readonly number[] = VEHICLE;
