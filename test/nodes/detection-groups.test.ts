/**
 * What sam3-segment's video settings ask of the engine per detection group:
 * the face detector's whole-frame pass on its stride, its tiles on theirs,
 * down to the node's *smallest face*.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DetectionGroups } from '../../src/nodes/lib/detection-groups';

describe('detection groups: video settings as the engine gets them', () => {
  test('the small-face pass looks down to the smallest face set; the every-frame pass stays on the whole frame', () => {
    const g = new DetectionGroups({ smallestFace: '24' }, 'images');
    assert.deepEqual(g.optionsOf('smallFaces').face, { tiles: 'auto', minFace: 24 });
    // Per video, the host remembers the tiled pass's tiles under a key of its own.
    assert.deepEqual(g.optionsOf('smallFaces', 'node-1/job-7').face, { tiles: 'auto', minFace: 24, tileMemory: 'node-1/job-7/smallFaces' });
    assert.deepEqual(g.optionsOf('faces').face, { tiles: 0 });
    assert.deepEqual(g.groupsFor('face').map((x) => [x.name, x.stride]), [['faces', 1], ['smallFaces', 10]]);
  });

  test('a smallest face left blank, unreadable or below what the detector finds means 12 px', () => {
    for (const v of [undefined, '', 'abc', 4, '-30']) assert.equal(new DetectionGroups({ smallestFace: v }, 'images').smallestFace, 12, String(v));
  });
});
