/**
 * Moving text in a generated video: frames rendered here, encoded to H.264
 * by ffmpeg and read back through the video layer (so the text carries real
 * compression artefacts). Every frame's text is found, and after redaction
 * the recogniser reads none of it.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { RawFrame } from '../../src/common/types';
import { RedactionEngine, type RedactionSegmentResult } from '../../src/engine';
import { redactImage } from '../../src/redact';
import { runFfmpeg } from '../../src/video/ffmpeg';
import { resolveFfmpegPath } from '../../src/video/ffmpeg-binaries';
import { openFrameReader } from '../../src/video/frame-reader';
import { tempDir } from '../helpers/temp';
import { coverMap, inkCovered, lineInk, sceneSvg, type Scene } from './support/render';

const FRAMES = 5;
const W = 480, H = 270;

/** Frame i: a number plate that drives across, and a fixed camera caption, light on dark. */
function sceneAt(i: number): Scene {
  const x = 30 + i * 45, y = 120 + i * 12;
  return {
    width: W,
    height: H,
    background: '#4a5a6a',
    panels: [
      { x: 0, y: 0, width: 260, height: 34, fill: '#101010' },
      { x, y, width: 190, height: 50, fill: '#f2f2ee' },
    ],
    lines: [
      { text: 'CAM 03  2024-05-17', x: 8, y: 24, size: 18, font: 'DejaVu Sans Mono', fill: '#f0f0f0' },
      { text: 'KX 4217 B', x: x + 14, y: y + 36, size: 30, font: 'Liberation Sans', fill: '#111111', bold: true },
    ],
  };
}

function hasFfmpeg(): boolean {
  try {
    resolveFfmpegPath();
    return true;
  } catch {
    return false;
  }
}

describe('moving text in a video', { skip: !hasFfmpeg() && 'no ffmpeg on this machine' }, () => {
  let engine: RedactionEngine;
  const frames: RawFrame[] = [];
  const found: RedactionSegmentResult[] = [];
  before(async () => {
    engine = await RedactionEngine.load({});
    const dir = tempDir('text-video-');
    for (let i = 0; i < FRAMES; i++) {
      await sharp(Buffer.from(sceneSvg(sceneAt(i)))).png().toFile(path.join(dir, `f${String(i).padStart(3, '0')}.png`));
    }
    const video = path.join(dir, 'moving-text.mp4');
    const run = await runFfmpeg([
      '-hide_banner', '-v', 'error', '-y', '-framerate', '5', '-i', path.join(dir, 'f%03d.png'),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20', '-pix_fmt', 'yuv420p', video,
    ]);
    assert.equal(run.code, 0, run.stderr);
    await fs.access(video);
    for await (const f of await openFrameReader(video)) frames.push(f.frame);
    for (const frame of frames) found.push(await engine.segment(frame, 'text'));
  });
  after(async () => engine?.close());

  test('every frame comes back from the video', () => {
    assert.equal(frames.length, FRAMES);
    assert.deepEqual([frames[0].width, frames[0].height], [W, H]);
  });

  test("each frame's lines are found, wherever the plate has moved", async () => {
    for (let i = 0; i < frames.length; i++) {
      const scene = sceneAt(i);
      const result = found[i];
      const map = coverMap(result.instances, W, H);
      for (let l = 0; l < scene.lines.length; l++) {
        const covered = inkCovered(await lineInk(scene, l), map);
        assert.ok(covered >= 0.99, `frame ${i}, "${scene.lines[l].text}": ${(covered * 100).toFixed(1)} % covered`);
      }
      assert.equal(result.instances.length, scene.lines.length, `frame ${i}: ${JSON.stringify(result.instances.map((x) => x.box))}`);
    }
  });

  test('after redaction no frame is legible', async () => {
    for (let i = 0; i < frames.length; i++) {
      const { instances } = found[i];
      const redacted = await redactImage(frames[i], instances, { mode: 'blur' });
      const check = await engine.verifyRedaction(frames[i], redacted.image, instances);
      assert.equal(check.checked, 2);
      assert.ok(check.lines.some((l) => /KX4217/i.test(l.before.replace(/\s/g, ''))), `frame ${i}: plate read as ${JSON.stringify(check.lines)}`);
      assert.deepEqual(check.legible, [], `frame ${i}`);
    }
  });
});
