/**
 * Video tests that make a clip from real photos and run it through the
 * chain a user wires (video-split -> sam3-segment -> mask-blur ->
 * video-encode, no SAM 3), keeping what mask-blur was given for each frame.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Instance } from '../../../src/common/types';
import { probeVideo, resolveFfmpegPath } from '../../../src/video';
import { catchAll, inTab } from '../../helpers/catch-flow';
import { coreNode, helper, nodeModule, type FlowNode } from '../../helpers/node-red';
import { tempDir } from '../../helpers/temp';
import { Outcomes } from '../../security/support';

/** Encodes raw RGB frames as an H.264 MP4 (near-lossless, so the photos stay what they were). */
export async function encodeFrames(frames: Buffer[], width: number, height: number, fps: number, file: string): Promise<void> {
  const ff = spawn(resolveFfmpegPath(), ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', '-', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '14', '-pix_fmt', 'yuv420p', file]);
  const done = new Promise<void>((resolve, reject) => ff.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`)))));
  for (const f of frames) if (!ff.stdin.write(f)) await new Promise((r) => ff.stdin.once('drain', r));
  ff.stdin.end();
  await done;
}

/**
 * Runs `clip` through the chain with `prompt` and the segment node's
 * `settings`; resolves with each frame's detections, by index, once the
 * output is written with every frame.
 */
export async function redactVideo(clip: string, frames: number, prompt: string, settings: Partial<FlowNode> = {}, fill: 'blur' | 'fill' = 'blur'): Promise<Map<number, Instance[]>> {
  const nodes = [...['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule), coreNode('common/25-catch.js')];
  await helper.load(nodes, inTab([
    { id: 'model', type: 'sam3-model', modelDir: path.join(tempDir(), 'no-sam3') },
    { id: 'splitter', type: 'video-split', window: 32, wires: [['seg']] },
    { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: prompt }], ...settings, wires: [['hider']] },
    { id: 'hider', type: 'mask-blur', mode: fill, wires: [['encoder']] },
    { id: 'encoder', type: 'video-encode', preset: 'ultrafast', wires: [['out']] },
    { id: 'out', type: 'helper' },
    ...catchAll,
  ]));
  const perFrame = new Map<number, Instance[]>();
  helper.getNode('hider').on('input', (m: { parts: { index: number }; detections: Instance[] }) => perFrame.set(m.parts.index, m.detections));
  const seen = new Outcomes<{ video: { frames: number } }>(helper.getNode('out'), helper.getNode('caught'));
  const output = path.join(tempDir(), 'out.mp4');
  helper.getNode('splitter').receive({ payload: clip, outputPath: output });
  const r = await seen.next(240_000);
  assert.equal(r.caught.length, 0, r.caught[0]?.error.message);
  assert.equal(r.sent[0].video.frames, frames);
  assert.equal((await probeVideo(output)).frameCount, frames, 'every frame is in the output');
  return perFrame;
}
