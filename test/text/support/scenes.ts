/** The scenes the text tests share: several fonts, sizes 14 to 60 px, a rotated line, light on dark. */
import type { Scene } from './render';

/** A rectangle of the document scene with shapes but no text: it must come out untouched. */
export const TEXT_FREE = { x: 470, y: 95, width: 240, height: 160 };

export const DOCUMENT: Scene = {
  width: 720,
  height: 540,
  background: '#f4f1ea',
  panels: [{ x: 20, y: 180, width: 400, height: 80, fill: '#202040' }],
  decoration:
    '<defs><linearGradient id="g"><stop offset="0" stop-color="#d03030"/><stop offset="1" stop-color="#3050d0"/></linearGradient></defs>' +
    '<circle cx="620" cy="150" r="45" fill="#2a7f62"/><rect x="480" y="205" width="220" height="40" fill="url(#g)"/>',
  lines: [
    { text: 'Invoice 4711 Berlin', x: 30, y: 60, size: 40, font: 'DejaVu Sans', fill: '#111111' },
    { text: 'Mrs Jane Doe, 12 Baker Street', x: 30, y: 115, size: 24, font: 'Liberation Serif', fill: '#222222' },
    { text: 'IBAN DE89 3704 0044 0532', x: 30, y: 150, size: 14, font: 'DejaVu Sans Mono', fill: '#333333' },
    { text: 'LICENCE AB 123', x: 40, y: 235, size: 36, font: 'Liberation Sans', fill: '#f8f8f8', bold: true },
    { text: 'Rotated words', x: 50, y: 430, size: 30, font: 'DejaVu Serif', fill: '#401010', rotate: -20 },
    { text: 'ZONE 60', x: 420, y: 360, size: 60, font: 'Liberation Mono', fill: '#103060', bold: true },
  ],
};
