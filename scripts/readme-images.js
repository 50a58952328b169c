#!/usr/bin/env node
// Regenerates the README's pictures: a document redacted by the bundled text
// detector (before | after, real output of the engine and mask-blur), and
// copies of the editor screenshots the end-to-end suite saved. Run after
// `npm run test:e2e`: node scripts/readme-images.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'docs', 'images');
const { RedactionEngine } = require(path.join(root, 'dist', 'src', 'engine'));
const { redactImage } = require(path.join(root, 'dist', 'src', 'redact'));
const { renderScene, encodePng } = require(path.join(root, 'dist', 'test', 'text', 'support', 'render'));
const { DOCUMENT } = require(path.join(root, 'dist', 'test', 'text', 'support', 'scenes'));

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const engine = await RedactionEngine.load({});
  try {
    const png = await encodePng(await renderScene(DOCUMENT));
    const found = await engine.segment(png, 'text');
    const redacted = await redactImage(png, found.instances, { mode: 'blur' });
    const gap = 16;
    const pair = await sharp({ create: { width: DOCUMENT.width * 2 + gap, height: DOCUMENT.height, channels: 3, background: '#ffffff' } })
      .composite([{ input: png, left: 0, top: 0 }, { input: redacted.image, left: DOCUMENT.width + gap, top: 0 }])
      .png()
      .toBuffer();
    // Composite first: sharp resizes before it composites within one pipeline.
    await sharp(pair)
      .resize(Math.round((DOCUMENT.width * 2 + gap) * 0.75))
      .png({ palette: true })
      .toFile(path.join(out, 'text-before-after.png'));
  } finally {
    await engine.close();
  }
  const shots = path.join(root, 'dist', 'e2e-artifacts');
  for (const [from, to] of [['palette.png', 'editor-palette.png'], ['edit-dialog.png', 'editor-segment-dialog.png'], ['deployed-watched-folder-redaction.png', 'editor-watched-folder.png']]) {
    const file = path.join(shots, from);
    if (fs.existsSync(file)) await sharp(file).resize(1200).png({ palette: true }).toFile(path.join(out, to));
    else console.warn(`${from}: run npm run test:e2e first`);
  }
  console.log(`written to ${path.relative(root, out)}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
