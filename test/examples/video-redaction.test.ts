import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { openFrameReader, probeVideo } from '../../src/video';
import { buildFixtureModel } from '../fixtures/fixture-model';
import { coreNode, helper, nextMessage, nodeModule, useNodeRed, type FlowNode } from '../helpers/node-red';
import { tempDir } from '../helpers/temp';
import { makeClip, redBox } from '../video/support/clips';

const example = path.resolve(__dirname, '..', '..', '..', 'examples', 'video-redaction.json');

describe('examples/video-redaction.json', () => {
  useNodeRed();

  test('redacts REDACT_VIDEO_INPUT into REDACT_OUTPUT_DIR with its audio', async () => {
    const work = tempDir();
    const modelDir = path.join(work, 'model');
    await buildFixtureModel(modelDir);
    const input = await makeClip(path.join(work, 'clip.mp4'), { duration: 2, audio: 1 });
    const flow = JSON.parse(readFileSync(example, 'utf8')) as FlowNode[];
    (flow.find((n) => n.type === 'sam3-segment') as FlowNode).prompts = [{ text: 'red', threshold: '' }];
    // The test clip's box is one flat colour, which a blur leaves as a softer blob of the same colour; a fill
    // makes "is any red left?" a check on every frame.
    (flow.find((n) => n.type === 'mask-blur') as FlowNode).mode = 'fill';
    for (const n of flow) if (n.type === 'debug') n.type = 'helper';
    Object.assign(process.env, { SAM3_MODEL_DIR: modelDir, REDACT_VIDEO_INPUT: input, REDACT_OUTPUT_DIR: path.join(work, 'out') });
    await helper.load(
      [...['sam3-model', 'sam3-segment', 'mask-blur', 'video-split', 'video-encode'].map(nodeModule), coreNode('common/20-inject.js'), coreNode('function/15-change.js'), coreNode('common/25-catch.js')],
      flow,
    );
    const written = flow.find((n) => n.name === 'video written') as FlowNode;
    const done = nextMessage<{ video: { output: string } }>(helper.getNode(written.id), 60_000);
    helper.getNode((flow.find((n) => n.type === 'inject') as FlowNode).id).receive({});
    const { video } = await done;
    assert.equal(video.output, path.join(work, 'out', 'clip-redacted.mp4'));
    const info = await probeVideo(video.output);
    assert.equal(info.frameCount, (await probeVideo(input)).frameCount);
    assert.equal(info.audioStreams.length, 1);
    for await (const f of await openFrameReader(video.output)) assert.equal(redBox(f.frame.data, f.frame.width, f.frame.height), null, `red in frame ${f.index}`);
  });
});
