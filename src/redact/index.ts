/**
 * The redact layer: pixels only, no Node-RED. Takes an image and SAM 3
 * instances (masks in upright image coordinates) and returns the image with
 * exactly those regions blurred, pixelated or filled, in the same format.
 */
export { redactImage, REVIEW_BACKEND } from './redact-image';
export { validateInstances } from './validate';
export { REDACT_DEFAULTS } from './options';
export { validateZones, zoneMask, ZONE_LABEL, type PrivacyZone } from './zones';
export type { RedactMode, RedactOptions, RedactResult, RedactSummary, LabelSummary } from './types';
