/**
 * A real street camera (opencv-doc's vtest.avi: 768 x 576 at 10 fps, people
 * 75 to 130 px tall, their faces 8 to 14 px): the face detector alone hid
 * none of the faces walking towards the camera. Through video-split,
 * sam3-segment ("face", no SAM 3, default settings), mask-blur and
 * video-encode, as a user wires them: every hand-labelled head is hidden (at
 * least 95 % of its box inside the masks) on frames between two looks of the
 * small-face pass, where covers are carried.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import type { Box, Instance } from '../../src/common/types';
import { RedactionEngine } from '../../src/engine';
import { resolveFfmpegPath } from '../../src/video';
import { covered, maskMap } from '../helpers/coverage';
import { catchAll, inTab } from '../helpers/catch-flow';
import { helper, nextMessage, nodeModule, useNodeRed } from '../helpers/node-red';
import { debFile, MediaUnavailableError } from '../helpers/registry-media';
import { tempDir } from '../helpers/temp';
import { cannotRun } from '../security/support';
import { redactVideo } from '../video/support/redact-video';

interface HeadLabels {
  source: { deb: string; file: string; sha256: string };
  cut: { from: number; frames: number };
  frames: Array<{ frame: number; heads: Box[] }>;
}

const LABELS = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'faces', 'street-heads.json'), 'utf8')) as HeadLabels;
const W = 768, H = 576;

/** The labelled stretch of the clip as its own file, frame for frame (near-lossless). */
async function cut(source: string, file: string): Promise<void> {
  const { from, frames } = LABELS.cut;
  const ff = spawn(resolveFfmpegPath(), [
    '-v', 'error', '-y', '-i', source, '-vf', `select=between(n\\,${from}\\,${from + frames - 1}),setpts=N/10/TB`, '-r', '10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '14', '-pix_fmt', 'yuv420p', '-an', file,
  ]);
  let err = '';
  ff.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => ff.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${err}`)))));
}

/** Frame `index` of `file` as PNG. */
async function still(file: string, index: number): Promise<Buffer> {
  const ff = spawn(resolveFfmpegPath(), ['-v', 'error', '-i', file, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-']);
  const chunks: Buffer[] = [];
  ff.stdout.on('data', (d: Buffer) => chunks.push(d));
  await new Promise<void>((resolve, reject) => ff.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`)))));
  return Buffer.concat(chunks);
}

/** Each labelled head, and the share of it inside the masks of its frame. */
function shares(perFrame: Map<number, Parameters<typeof maskMap>[0]>): Array<{ frame: number; head: Box; share: number }> {
  return LABELS.frames.flatMap(({ frame, heads }) => {
    const map = maskMap(perFrame.get(frame - LABELS.cut.from) ?? [], W, H);
    return heads.map((head) => ({ frame, head, share: covered(head, map, W) }));
  });
}

describe('a street camera: the heads of people too small for the face detector', () => {
  useNodeRed();
  let clip: string | undefined;
  let unavailable = '';
  before(async () => {
    try {
      const source = debFile(LABELS.source.deb, LABELS.source.file, LABELS.source.sha256);
      clip = path.join(tempDir(), 'street.mp4');
      await cut(source, clip);
    } catch (err) {
      if (!(err instanceof MediaUnavailableError)) throw err;
      unavailable = err.message;
    }
  });

  test('the labels hold at least 20 heads of 8 to 15 px, on frames the small-face pass does not look at', () => {
    const heads = LABELS.frames.flatMap((f) => f.heads);
    assert.ok(heads.length >= 20, `${heads.length} heads`);
    assert.ok(heads.every((h) => h[3] - h[1] >= 8 && h[3] - h[1] <= 15), 'heads 8 to 15 px tall');
    // At 10 fps the small-face pass looks every 3rd frame of the cut (10 at 30 fps): labelled frames lie between.
    assert.ok(LABELS.frames.every((f) => (f.frame - LABELS.cut.from) % 3 !== 0), 'labelled frames are carried ones');
  });

  test('every labelled head is hidden, on frames between two looks', async (t) => {
    if (!clip) return cannotRun(t, unavailable);
    const perFrame = await redactVideo(clip, LABELS.cut.frames, 'face');
    const missed = shares(perFrame).filter((s) => s.share < 0.95);
    assert.deepEqual(missed.map((m) => `frame ${m.frame} [${m.head.join(', ')}]: ${(m.share * 100).toFixed(0)} %`), [], 'heads not hidden');
    // Found by the person detector, and carried as covers by their tracks.
    const labelled = LABELS.frames.map((f) => perFrame.get(f.frame - LABELS.cut.from) ?? []);
    assert.ok(labelled.every((d) => d.some((i) => i.backend === 'objects' && i.carried)), 'carried head covers on every labelled frame');
  });

  test('a frame as a photo: every labelled head is hidden, and msg.segmentation names the person detector beside the face detector', async (t) => {
    if (!clip) return cannotRun(t, unavailable);
    const { frame, heads } = LABELS.frames[0];
    const png = await still(clip, frame - LABELS.cut.from);
    await helper.load(['sam3-model', 'sam3-segment'].map(nodeModule), inTab([
      { id: 'model', type: 'sam3-model', modelDir: path.join(tempDir(), 'no-sam3') },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'face' }], wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]));
    const out = nextMessage<{ detections: Instance[]; segmentation: { backends: Record<string, Array<{ backend: string; threshold: number }>> } }>(helper.getNode('out'), 60_000);
    helper.getNode('seg').receive({ payload: png });
    const msg = await out;
    const map = maskMap(msg.detections, W, H);
    assert.deepEqual(heads.filter((h) => covered(h, map, W) < 0.95), [], 'heads not hidden');
    assert.deepEqual(msg.segmentation.backends.face, [{ backend: 'face', threshold: 0.5 }, { backend: 'objects', threshold: 0.3 }]);
    assert.ok(msg.detections.some((d) => d.backend === 'objects'), 'head covers say the person detector found them');
  });

  test('through the engine API, face: { heads: false } leaves the heads to the face detector alone; a value that is not true or false is refused', async (t) => {
    if (!clip) return cannotRun(t, unavailable);
    const { frame, heads } = LABELS.frames[0];
    const png = await still(clip, frame - LABELS.cut.from);
    const engine = await RedactionEngine.load({ textModels: false });
    try {
      const hidden = async (o: { heads?: unknown }): Promise<number> => {
        const r = await engine.segment(png, 'face', { face: o as { heads?: boolean } });
        const map = maskMap(r.instances, W, H);
        return heads.filter((h) => covered(h, map, W) >= 0.95).length;
      };
      assert.equal(await hidden({}), heads.length);
      assert.ok((await hidden({ heads: false })) < heads.length / 2, 'heads: false hides fewer than half');
      await assert.rejects(hidden({ heads: 'yes' }), /face heads must be true or false/);
    } finally {
      await engine.close();
    }
  });

  test('without the small-face pass (its stride 0) most of these heads show: the face detector alone does not see them', async (t) => {
    if (!clip) return cannotRun(t, unavailable);
    const perFrame = await redactVideo(clip, LABELS.cut.frames, 'face', { smallFaceStride: 0 });
    const all = shares(perFrame);
    const hidden = all.filter((s) => s.share >= 0.95).length;
    assert.ok(hidden < all.length / 2, `${hidden} of ${all.length} heads hidden by the face detector's whole-frame pass alone`);
  });
});
