/**
 * Metadata that leaks, checked with tools that are not ours: exiftool reads
 * the images, ffprobe and exiftool the videos. A photo tagged by exiftool
 * itself with GPS, XMP, IPTC and an EXIF thumbnail, and a video with a
 * location, a creation time and a subtitle stream, go through the real nodes;
 * the outputs carry none of it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { FIXTURE_COLOURS } from '../fixtures/fixture-model';
import { catchAll, inTab } from '../helpers/catch-flow';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { textured } from '../helpers/textured';
import { ffprobeJson, makeClip } from '../video/support/clips';
import { workWithModel } from './support';

const EXIFTOOL = ['/usr/bin/exiftool', '/usr/local/bin/exiftool'].find((p) => {
  try {
    execFileSync(p, ['-ver'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
// In CI, .ci/run installs exiftool: a missing one is a failure there, not a skip.
const skip = !EXIFTOOL && !process.env.CI ? 'exiftool is not installed (apt-get install libimage-exiftool-perl)' : false;

type Tags = Record<string, unknown>;
const exif = (file: string): Tags => (JSON.parse(execFileSync(EXIFTOOL as string, ['-j', '-a', '-G1', '-b', file], { encoding: 'utf8' })) as Tags[])[0];
/** Tag names (group:name) that say where, when, with what, or hold a picture. */
const leaks = (t: Tags): string[] =>
  Object.keys(t).filter((k) => /^(GPS|XMP|IPTC|IFD1)|:(GPS|ThumbnailImage|PreviewImage|Make|Model|DateTimeOriginal|CreateDate|Location|Artist|Comment)/.test(k));

describe('metadata is gone from outputs, as exiftool and ffprobe see them', { skip }, () => {
  useNodeRed();
  let work: string;
  let modelDir: string;
  before(async () => {
    ({ work, modelDir } = await workWithModel());
  });

  test('a JPEG with GPS, camera, dates, XMP, IPTC and an EXIF thumbnail comes out with none of them', async () => {
    const W = 200, H = 140;
    const target = { x: 20, y: 20, width: 60, height: 40, rgb: FIXTURE_COLOURS.red, pattern: [200, 30, 30] as [number, number, number] };
    const photo = path.join(work, 'tagged.jpg');
    await sharp(Buffer.from(textured(W, H, [target]).data), { raw: { width: W, height: H, channels: 3 } }).jpeg().toFile(photo);
    const thumb = path.join(work, 'thumb.jpg');
    await sharp(photo).resize(40).jpeg().toFile(thumb);
    execFileSync(EXIFTOOL as string, [
      '-q', '-overwrite_original',
      '-GPSLatitude=48.8577', '-GPSLatitudeRef=N', '-GPSLongitude=2.2950', '-GPSLongitudeRef=E',
      '-Make=LeakyCam', '-Model=X1', '-DateTimeOriginal=2024:05:17 10:00:00', '-Artist=Jane Doe',
      '-XMP-dc:Creator=Jane Doe', '-XMP-photoshop:City=Paris', '-IPTC:City=Paris', '-IPTC:By-line=Jane Doe',
      `-ThumbnailImage<=${thumb}`, photo,
    ]);
    const before = exif(photo);
    assert.ok(leaks(before).length >= 8, `the input does carry them: ${leaks(before).join(', ')}`);

    await helper.load([nodeModule('sam3-model'), nodeModule('sam3-segment'), nodeModule('mask-blur'), coreNode('common/25-catch.js')], inTab([
      { id: 'model', type: 'sam3-model', modelDir },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], wires: [['hider']] },
      { id: 'hider', type: 'mask-blur', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ]));
    const got = nextMessage<{ payload: Buffer; redaction: { instances: number } }>(helper.getNode('out'));
    helper.getNode('seg').receive({ payload: await fs.readFile(photo) });
    const msg = await got;
    assert.ok(msg.redaction.instances >= 1);
    const output = path.join(work, 'redacted.jpg');
    await fs.writeFile(output, msg.payload);
    const after = exif(output);
    assert.deepEqual(leaks(after), [], JSON.stringify(after, null, 1));
    assert.doesNotMatch(JSON.stringify(after), /LeakyCam|Jane Doe|Paris|48\.8577|48 deg/);
  });

  test('a video with a location, a creation time and subtitles comes out with none of them', async () => {
    const clip = await makeClip(path.join(work, 'private.mp4'), { duration: 1, audio: 1, private: true });
    const src = await ffprobeJson(clip);
    assert.equal(src.format.tags?.location, '+48.8577+002.2950/', 'the input does carry a location');
    assert.ok(src.streams.some((s) => s.codec_type === 'subtitle'), 'and subtitles');

    await helper.load(['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule).concat(coreNode('common/25-catch.js')), inTab([
      { id: 'model', type: 'sam3-model', modelDir },
      { id: 'splitter', type: 'video-split', wires: [['seg']] },
      { id: 'seg', type: 'sam3-segment', model: 'model', prompts: [{ text: 'red' }], stride: 5, wires: [['hider']] },
      { id: 'hider', type: 'mask-blur', mode: 'fill', wires: [['encoder']] },
      { id: 'encoder', type: 'video-encode', preset: 'ultrafast', wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...catchAll,
    ] as FlowNode[]));
    const output = path.join(work, 'private-redacted.mp4');
    const done = nextMessage<{ video: { output: string } }>(helper.getNode('out'));
    helper.getNode('splitter').receive({ payload: clip, outputPath: output });
    assert.equal((await done).video.output, output);

    const out = await ffprobeJson(output);
    assert.deepEqual(out.streams.map((s) => s.codec_type), ['video', 'audio'], 'no subtitle or data stream');
    assert.doesNotMatch(JSON.stringify([out.format.tags, out.streams.map((s) => s.tags)]), /location|creation_time|48\.8577/);
    const tags = exif(output);
    const found = Object.entries(tags).filter(([k, v]) => !k.startsWith('System:') && /GPS|Location|CreateDate|CreationDate|ModifyDate/.test(k) && !/^0000:00:00 00:00:00$/.test(String(v)));
    // (System: tags are the file system's own dates, not the file's content.)
    assert.deepEqual(found, [], 'exiftool finds no location and no real dates');
  });
});
