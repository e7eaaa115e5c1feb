/** Speaking detection from audio levels (client/src/media/speaking.ts), without media. */
import assert from 'node:assert/strict';
import { SpeakingDetector } from '../client/src/media/speaking.ts';

describe('speaking detector', () => {
  it('starts at the first loud reading and ends only after the hold time of quiet', () => {
    const d = new SpeakingDetector({ threshold: 0.02, holdMs: 400 });
    assert.equal(d.update('a', 0.001, 0), undefined);
    assert.equal(d.update('a', 0.05, 100), true);
    assert.equal(d.isSpeaking('a'), true);
    assert.equal(d.update('a', 0.3, 200), undefined);
    // A pause between words shorter than the hold keeps the indicator on.
    assert.equal(d.update('a', 0.0, 500), undefined);
    assert.equal(d.update('a', 0.04, 550), undefined);
    assert.equal(d.update('a', 0.0, 900), undefined);
    assert.equal(d.update('a', 0.0, 950), false);
    assert.equal(d.isSpeaking('a'), false);
    assert.equal(d.update('a', 0.0, 2000), undefined);
  });

  it('tracks speakers independently, and forgets one that left', () => {
    const d = new SpeakingDetector();
    d.update('a', 0.5, 0);
    d.update('b', 0.5, 0);
    assert.equal(d.update('b', 0, 1000), false);
    assert.deepEqual(d.speakers, ['a']);
    assert.equal(d.forget('a'), true);
    assert.equal(d.forget('a'), false);
    assert.deepEqual(d.speakers, []);
  });

  it('treats a reading exactly at the threshold as speech', () => {
    const d = new SpeakingDetector({ threshold: 0.1, holdMs: 100 });
    assert.equal(d.update('x', 0.1, 0), true);
  });
});
