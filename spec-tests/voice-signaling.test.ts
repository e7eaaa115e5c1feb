/**
 * Voice signaling against a real Janus (started by the server under test): joining a voice
 * channel, the org.whisper.voice.member state every member sees, publish/subscribe answered
 * by Janus, refusal of non-members and of kicked members at every step, clients cannot forge
 * call state, and a Janus killed mid-call is restarted with the client told to rejoin.
 * Media itself is tested in voice-media.test.ts (Chromium); here the offers are hand-made.
 */
import assert from 'node:assert/strict';
import { describeServer, startTestServer, backends, type TestServer, type TestUser } from './harness.ts';
import { fakeAudioOffer, installed, SignalClient } from './voiceHelpers.ts';

const V3 = '/_matrix/client/v3';
const janus = installed('janus');

async function voiceChannel(srv: TestServer, owner: TestUser, members: TestUser[]): Promise<string> {
  const room = await srv.request('POST', `${V3}/createRoom`, {
    token: owner.access_token, body: { name: 'Lounge', creation_content: { type: 'org.whisper.voice' }, invite: members.map((m) => m.user_id) },
  });
  assert.equal(room.status, 200, JSON.stringify(room.body));
  for (const m of members) await srv.request('POST', `${V3}/join/${encodeURIComponent(room.body.room_id)}`, { token: m.access_token, body: {} });
  return room.body.room_id;
}

const voiceState = async (srv: TestServer, as: TestUser, roomId: string, of: TestUser) =>
  srv.request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/org.whisper.voice.member/${encodeURIComponent(of.user_id)}`, { token: as.access_token });

describeServer('voice signaling', {}, (srv) => {
  const clients: SignalClient[] = [];
  const connect = async (u: TestUser) => {
    const { client, first } = await SignalClient.connect(srv().url, u.access_token);
    clients.push(client);
    assert.equal(first.type, 'ready', JSON.stringify(first));
    return client;
  };
  after(() => clients.forEach((c) => c.close()));
  before(function () {
    if (!janus) this.skip();
  });

  it('authenticates by query or first message, and refuses bad tokens', async () => {
    const alice = await srv().register();
    const byMessage = await SignalClient.connect(srv().url, alice.access_token, 'message');
    clients.push(byMessage.client);
    assert.deepEqual([byMessage.first.type, byMessage.first.user_id], ['ready', alice.user_id]);
    const bad = await SignalClient.connect(srv().url, 'not-a-token');
    assert.equal(bad.first.errcode, 'M_UNKNOWN_TOKEN');
    const none = await SignalClient.connect(srv().url, undefined, 'message');
    assert.equal(none.first.errcode, 'M_MISSING_TOKEN');
    const status = await srv().request('GET', '/_whisper/client/v1/voice/status', { token: alice.access_token });
    assert.deepEqual(status.body, { available: true, mode: 'embedded' });
  });

  it('a member joins and publishes, Janus answers, and every member sees the call state', async () => {
    const alice = await srv().register();
    const bob = await srv().register();
    const roomId = await voiceChannel(srv(), alice, [bob]);
    const a = await connect(alice);
    const b = await connect(bob);

    const joined = await a.request({ type: 'join', room_id: roomId });
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
    assert.deepEqual(joined.feeds, []);
    const published = await a.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() });
    assert.equal(published.type, 'published', JSON.stringify(published));
    assert.equal(published.jsep.type, 'answer');
    assert.match(published.jsep.sdp, /opus\/48000/);
    const state = await voiceState(srv(), bob, roomId, alice);
    assert.equal(state.status, 200);
    assert.deepEqual(state.body, { joined: true, muted: false, deafened: false, streams: [{ feed: published.feed, kind: 'voice' }] });

    const bJoined = await b.request({ type: 'join', room_id: roomId });
    assert.equal(bJoined.type, 'joined');
    // Feeds are announced once their media is up (Janus does so after ICE): no media flows
    // from a hand-made offer, so feed lists and subscriptions are tested with Chromium.
    const bobPub = await b.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() });
    assert.equal(bobPub.type, 'published');
    assert.notEqual(bobPub.feed, published.feed);

    const muted = await a.request({ type: 'state', muted: true });
    assert.equal(muted.state.muted, true);
    assert.equal((await voiceState(srv(), bob, roomId, alice)).body.muted, true);

    assert.equal((await a.request({ type: 'leave' })).type, 'ok');
    assert.deepEqual((await voiceState(srv(), bob, roomId, alice)).body, { joined: false, muted: true, deafened: false, streams: [] });
  });

  it('refuses non-members, kicked members at every step, and forged call state', async () => {
    const alice = await srv().register();
    const bob = await srv().register();
    const eve = await srv().register();
    const roomId = await voiceChannel(srv(), alice, [bob]);
    const e = await connect(eve);
    const refused = (m: Record<string, unknown>) => assert.equal(m.errcode, 'M_FORBIDDEN', JSON.stringify(m));

    // A non-member: join is refused, and without a call every other step is too.
    refused(await e.request({ type: 'join', room_id: roomId }));
    refused(await e.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() }));
    refused(await e.request({ type: 'subscribe', feed: 1 }));
    refused(await e.request({ type: 'trickle', target: 'voice', candidate: null }));
    refused(await e.request({ type: 'answer', sub: 's1', jsep: { type: 'answer', sdp: 'v=0' } }));
    refused(await e.request({ type: 'state', muted: true }));

    // A plain room is no voice channel.
    const plain = (await srv().request('POST', `${V3}/createRoom`, { token: alice.access_token, body: {} })).body.room_id;
    const a = await connect(alice);
    assert.equal((await a.request({ type: 'join', room_id: plain })).errcode, 'M_INVALID_PARAM');

    // Bob is in the call, then kicked: he is dropped at once, and every step is refused.
    const b = await connect(bob);
    await a.request({ type: 'join', room_id: roomId });
    const alicePub = await a.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() });
    await b.request({ type: 'join', room_id: roomId });
    const bobPub = await b.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() });
    assert.equal(bobPub.type, 'published');
    const kick = await srv().request('POST', `${V3}/rooms/${encodeURIComponent(roomId)}/kick`, { token: alice.access_token, body: { user_id: bob.user_id } });
    assert.equal(kick.status, 200);
    const left = await b.nextEvent((m) => m.type === 'left');
    assert.deepEqual([left.room_id, left.reason], [roomId, 'membership']);
    refused(await b.request({ type: 'subscribe', feed: alicePub.feed }));
    refused(await b.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() }));
    refused(await b.request({ type: 'trickle', target: 'voice', candidate: null }));
    refused(await b.request({ type: 'state', deafened: true }));
    refused(await b.request({ type: 'join', room_id: roomId }));

    // Nobody writes call state by hand, not even the room's admin.
    const forged = await srv().request('PUT', `${V3}/rooms/${encodeURIComponent(roomId)}/state/org.whisper.voice.member/${encodeURIComponent(alice.user_id)}`, {
      token: alice.access_token, body: { joined: true, muted: false, deafened: false, streams: [] },
    });
    assert.equal(forged.status, 403);
  });

  it('rejects malformed signaling with Matrix errors', async () => {
    const alice = await srv().register();
    const a = await connect(alice);
    a.ws.send('{not json');
    assert.equal((await a.nextEvent((m) => m.type === 'error')).errcode, 'M_NOT_JSON');
    assert.equal((await a.request({ type: 'join' })).errcode, 'M_MISSING_PARAM');
    assert.equal((await a.request({ type: 'join', room_id: 42 })).errcode, 'M_BAD_JSON');
    assert.equal((await a.request({ type: 'dance' })).errcode, 'M_BAD_JSON');
    assert.equal((await a.request({ type: 'join', room_id: '!nope:whisper.test' })).errcode, 'M_FORBIDDEN');
    assert.equal((await a.request({ type: 'subscribe', feed: -1 })).errcode, 'M_BAD_JSON');
  });

  it('restarts a Janus that died and tells the clients in calls to rejoin', async function () {
    const alice = await srv().register();
    const roomId = await voiceChannel(srv(), alice, []);
    const a = await connect(alice);
    await a.request({ type: 'join', room_id: roomId });
    const voice = srv().hs.services.voice;
    const pid = voice.mediaServerPid!;
    assert.ok(pid);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const reset = await a.nextEvent((m) => m.type === 'reset');
    assert.equal(reset.room_id, roomId);
    // Rejoining waits for the new Janus and makes the room again.
    const again = await a.request({ type: 'join', room_id: roomId });
    assert.equal(again.type, 'joined', JSON.stringify(again));
    const pub = await a.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() });
    assert.equal(pub.type, 'published');
    assert.notEqual(voice.mediaServerPid, pid);
    assert.ok(Date.now() - killedAt < 10_000);
  });

  it('after a Janus restart, a client that goes away instead of rejoining is out of the roster; one that rejoins has its old streams ended', async () => {
    const alice = await srv().register();
    const bob = await srv().register();
    const roomId = await voiceChannel(srv(), alice, [bob]);
    const a = await connect(alice);
    const b = await connect(bob);
    for (const c of [a, b]) {
      await c.request({ type: 'join', room_id: roomId });
      assert.equal((await c.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() })).type, 'published');
    }
    assert.equal((await a.request({ type: 'publish', kind: 'stream', stream_id: 'screen', jsep: fakeAudioOffer() })).type, 'published');
    process.kill(srv().hs.services.voice.mediaServerPid!, 'SIGKILL');
    for (const c of [a, b]) await c.nextEvent((m) => m.type === 'reset');
    b.close();
    assert.equal((await a.request({ type: 'join', room_id: roomId })).type, 'joined');
    const screen = await srv().request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/org.whisper.stream/${encodeURIComponent(`screen|${alice.user_id}`)}`, { token: bob.access_token });
    assert.deepEqual(screen.body, {}, 'the stream from before the restart is over until published again');
    assert.equal((await voiceState(srv(), alice, roomId, alice)).body.joined, true);
    let bobState = (await voiceState(srv(), alice, roomId, bob)).body;
    for (let i = 0; i < 50 && bobState.joined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      bobState = (await voiceState(srv(), alice, roomId, bob)).body;
    }
    assert.deepEqual(bobState, { joined: false, muted: false, deafened: false, streams: [] });
  });
});

describe('voice without Janus', () => {
  it('reports 503 with a clear reason and the server still works', async () => {
    const srv = await startTestServer(backends()[0], { janusBinary: 'off' });
    try {
      const alice = await srv.register();
      const roomId = (await srv.request('POST', `${V3}/createRoom`, { token: alice.access_token, body: { creation_content: { type: 'org.whisper.voice' } } })).body.room_id;
      const status = await srv.request('GET', '/_whisper/client/v1/voice/status', { token: alice.access_token });
      assert.equal(status.body.available, false);
      assert.match(status.body.reason, /turned off/);
      const { client, first } = await SignalClient.connect(srv.url, alice.access_token);
      assert.equal(first.type, 'ready');
      const join = await client.request({ type: 'join', room_id: roomId });
      assert.deepEqual([join.status, join.errcode], [503, 'M_UNKNOWN']);
      assert.match(join.error, /turned off/);
      client.close();
    } finally {
      await srv.close();
    }
  });
});
