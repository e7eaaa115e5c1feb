/**
 * The subscriber's layer recovery, against a stand-in Janus handle: the real Janus only falls
 * back under load, which a test cannot cause on demand (the media test covers the real relay).
 */
import assert from 'node:assert/strict';
import type { JanusMessage, JanusSession } from './janusConnection.ts';
import { Subscriber } from './videoRoom.ts';

function standInSession() {
  const sent: Array<Record<string, unknown>> = [];
  let listener: (event: JanusMessage) => void = () => {};
  const handle = {
    message: async (body: Record<string, unknown>) => {
      sent.push(body);
      if (body.request === 'join') return { data: { streams: [{ type: 'audio', mid: '0' }, { type: 'video', mid: '1' }] }, jsep: { type: 'offer', sdp: 'v=0' } };
      return { data: {} };
    },
    detach: async () => {},
  };
  const session = { attach: async (_plugin: string, l: (event: JanusMessage) => void) => ((listener = l), handle) } as unknown as JanusSession;
  const relaying = (substream: number) => listener({ janus: 'event', plugindata: { plugin: 'janus.plugin.videoroom', data: { videoroom: 'event', substream } } });
  return { session, sent, relaying };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const configures = (sent: Array<Record<string, unknown>>) => sent.filter((b) => b.request === 'configure').map((b) => (b.streams as Array<{ substream: number }>)[0].substream);

describe('VideoRoom subscriber: simulcast layer recovery', function () {
  this.timeout(10_000);

  it('asks a longer fallback than Janus\'s 250 ms when joining', async () => {
    const { session, sent } = standInSession();
    await Subscriber.join(session, { room: 1, secret: 's', pin: 'p' }, 42, () => {});
    assert.deepEqual(sent[0].streams, [{ feed: 42, fallback: 1_000_000 }]);
  });

  it('a viewer left below its layer asks again (a keyframe) after 2 s, and stops once back', async () => {
    const { session, sent, relaying } = standInSession();
    const sub = await Subscriber.join(session, { room: 1, secret: 's', pin: 'p' }, 42, () => {});
    relaying(2);
    relaying(0); // Janus fell back from the full layer
    await sleep(1500);
    assert.deepEqual(configures(sent), [], 'not before the pause');
    await sleep(800);
    assert.deepEqual(configures(sent), [2], 'asked for the full layer again');
    relaying(2);
    await sleep(4500);
    assert.deepEqual(configures(sent), [2], 'nothing more once Janus relays it');
    await sub.leave();
  });

  it('a viewer who chose a low layer is not pushed back up, and leaving stops the timer', async () => {
    const { session, sent, relaying } = standInSession();
    const sub = await Subscriber.join(session, { room: 1, secret: 's', pin: 'p' }, 42, () => {});
    await sub.setLayer(0);
    relaying(0);
    await sleep(2300);
    assert.deepEqual(configures(sent), [0]);
    await sub.setLayer(1);
    relaying(0);
    await sub.leave();
    await sleep(2300);
    assert.deepEqual(configures(sent), [0, 1]);
  });
});
