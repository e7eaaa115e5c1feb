/**
 * The call roster every member sees (org.whisper.voice.member state) stays true: a member who
 * is kicked, banned or leaves the room mid-call is out of the call in the same transaction,
 * just before the membership change, as another member's /sync shows; and call state left by
 * a previous run of the server (calls do not survive a restart) is ended at start-up (calls of
 * other live processes stay: voice-multi-process.test.ts).
 */
import assert from 'node:assert/strict';
import { createLogger } from '../homeserver/logging.ts';
import { buildConfig, uniformRateLimits } from '../homeserver/config.ts';
import { startHomeserver } from '../homeserver/main.ts';
import { backends, describeServer, type TestServer, type TestUser } from './harness.ts';
import { fakeAudioOffer, installed, SignalClient, startTestServerOn } from './voiceHelpers.ts';

const V3 = '/_matrix/client/v3';
const MEMBER = 'org.whisper.voice.member';
const janus = installed('janus');

async function voiceChannel(srv: TestServer, owner: TestUser, members: TestUser[]): Promise<string> {
  const room = await srv.request('POST', `${V3}/createRoom`, {
    token: owner.access_token, body: { creation_content: { type: 'org.whisper.voice' }, invite: members.map((m) => m.user_id) },
  });
  assert.equal(room.status, 200, JSON.stringify(room.body));
  for (const m of members) await srv.request('POST', `${V3}/join/${encodeURIComponent(room.body.room_id)}`, { token: m.access_token, body: {} });
  return room.body.room_id;
}

async function inCall(srv: TestServer, u: TestUser, roomId: string, clients: SignalClient[]): Promise<SignalClient> {
  const { client, first } = await SignalClient.connect(srv.url, u.access_token);
  clients.push(client);
  assert.equal(first.type, 'ready');
  assert.equal((await client.request({ type: 'join', room_id: roomId })).type, 'joined');
  assert.equal((await client.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() })).type, 'published');
  return client;
}

async function sync(srv: TestServer, u: TestUser, since?: string): Promise<any> {
  const res = await srv.request('GET', `${V3}/sync?timeout=0${since ? `&since=${encodeURIComponent(since)}` : ''}`, { token: u.access_token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The roster as a client that reads /sync builds it: the latest voice.member state per user. */
function rosterFrom(body: any, roomId: string, roster: Map<string, any> = new Map()): Map<string, any> {
  const room = body.rooms?.join?.[roomId];
  for (const e of [...(room?.state?.events ?? []), ...(room?.timeline?.events ?? [])]) {
    if (e.type === MEMBER) roster.set(e.state_key, e.content);
  }
  return roster;
}

describeServer('voice roster', {}, (srv) => {
  const clients: SignalClient[] = [];
  after(() => clients.forEach((c) => c.close()));
  before(function () {
    if (!janus) this.skip(); // needs the Debian janus package
  });

  for (const how of ['kick', 'ban', 'leave'] as const) {
    it(`a member who ${{ kick: 'is kicked', ban: 'is banned', leave: 'leaves' }[how]} mid-call is out of the roster in the same sync, before the membership change`, async () => {
      const [alice, bob, carol] = [await srv().register(), await srv().register(), await srv().register()];
      const roomId = await voiceChannel(srv(), alice, [bob, carol]);
      await inCall(srv(), alice, roomId, clients);
      const b = await inCall(srv(), bob, roomId, clients);
      const first = await sync(srv(), carol);
      const roster = rosterFrom(first, roomId);
      assert.equal(roster.get(bob.user_id)?.joined, true);
      assert.equal(roster.get(alice.user_id)?.joined, true);

      const path = how === 'leave' ? `${V3}/rooms/${encodeURIComponent(roomId)}/leave` : `${V3}/rooms/${encodeURIComponent(roomId)}/${how}`;
      const res = await srv().request('POST', path, { token: (how === 'leave' ? bob : alice).access_token, body: how === 'leave' ? {} : { user_id: bob.user_id } });
      assert.equal(res.status, 200, JSON.stringify(res.body));

      const next = await sync(srv(), carol, first.next_batch);
      const timeline: any[] = next.rooms.join[roomId].timeline.events;
      const ended = timeline.findIndex((e) => e.type === MEMBER && e.state_key === bob.user_id);
      const membership = timeline.findIndex((e) => e.type === 'm.room.member' && e.state_key === bob.user_id);
      assert.ok(ended >= 0 && membership > ended, `call state ended just before the membership change: ${JSON.stringify(timeline.map((e) => e.type))}`);
      assert.equal(timeline[ended].sender, bob.user_id);
      assert.deepEqual(timeline[ended].content, { joined: false, muted: false, deafened: false, streams: [] });
      assert.equal(timeline[membership].content.membership, how === 'kick' || how === 'leave' ? 'leave' : 'ban');
      rosterFrom(next, roomId, roster);
      assert.deepEqual([...roster].filter(([, c]) => c.joined).map(([u]) => u), [alice.user_id]);
      // Bob's connection is told, and the state he can no longer write stays ended.
      assert.equal((await b.nextEvent((m) => m.type === 'left')).reason, 'membership');
      const state = await srv().request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/${MEMBER}/${encodeURIComponent(bob.user_id)}`, { token: carol.access_token });
      assert.equal(state.body.joined, false);
    });
  }

  it('streams are org.whisper.stream state, several per user; they end on unpublish and when their user is kicked', async () => {
    const [alice, bob] = [await srv().register(), await srv().register()];
    const roomId = await voiceChannel(srv(), alice, [bob]);
    const b = await inCall(srv(), bob, roomId, clients);
    const streamState = async (streamId: string) =>
      (await srv().request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/org.whisper.stream/${encodeURIComponent(`${streamId}|${bob.user_id}`)}`, { token: alice.access_token })).body;
    // Hand-made offers carry audio only: Janus answers, the state says what the client described.
    const screen = await b.request({ type: 'publish', kind: 'stream', stream_id: 'screen', quality: '1440p60', jsep: fakeAudioOffer(), description: { width: 2560, height: 1440, fps: 60, codec: 'VP8', has_audio: true, layers: ['h', 'm', 'l'] } });
    assert.equal(screen.type, 'published', JSON.stringify(screen));
    assert.equal(screen.stream_id, 'screen');
    const cam = await b.request({ type: 'publish', kind: 'stream', stream_id: 'cam', jsep: fakeAudioOffer() });
    assert.equal(cam.type, 'published', JSON.stringify(cam));
    assert.notEqual(cam.feed, screen.feed);
    const live = await streamState('screen');
    assert.deepEqual({ ...live, started_ts: 0 }, { feed: screen.feed, preset: '1440p60', width: 2560, height: 1440, fps: 60, codec: 'VP8', has_audio: true, layers: ['h', 'm', 'l'], started_ts: 0 });
    assert.equal((await streamState('cam')).preset, '1080p60');
    const member = (await srv().request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/${MEMBER}/${encodeURIComponent(bob.user_id)}`, { token: alice.access_token })).body;
    assert.deepEqual(member.streams.map((x: any) => x.stream_id ?? x.kind).sort(), ['cam', 'screen', 'voice']);
    // Bad stream ids, layers and unknown subscriptions are refused as Matrix errors.
    assert.equal((await b.request({ type: 'publish', kind: 'stream', stream_id: 'a|b', jsep: fakeAudioOffer() })).errcode, 'M_BAD_JSON');
    assert.equal((await b.request({ type: 'layer', sub: 's99', substream: 0 })).errcode, 'M_NOT_FOUND');
    assert.equal((await b.request({ type: 'layer', sub: 's1', substream: 3 })).errcode, 'M_BAD_JSON');
    // Nobody writes stream state by hand.
    const forged = await srv().request('PUT', `${V3}/rooms/${encodeURIComponent(roomId)}/state/org.whisper.stream/x%7C${encodeURIComponent(alice.user_id)}`, { token: alice.access_token, body: { feed: 1 } });
    assert.equal(forged.status, 403);

    assert.equal((await b.request({ type: 'unpublish', kind: 'stream', stream_id: 'cam' })).type, 'ok');
    assert.deepEqual(await streamState('cam'), {});
    assert.equal((await streamState('screen')).feed, screen.feed);
    await srv().request('POST', `${V3}/rooms/${encodeURIComponent(roomId)}/kick`, { token: alice.access_token, body: { user_id: bob.user_id } });
    assert.deepEqual(await streamState('screen'), {});
  });

  it('a membership change of someone not in the call writes no call state', async () => {
    const [alice, bob] = [await srv().register(), await srv().register()];
    const roomId = await voiceChannel(srv(), alice, [bob]);
    const first = await sync(srv(), alice);
    await srv().request('POST', `${V3}/rooms/${encodeURIComponent(roomId)}/kick`, { token: alice.access_token, body: { user_id: bob.user_id } });
    const next = await sync(srv(), alice, first.next_batch);
    assert.deepEqual(next.rooms.join[roomId].timeline.events.map((e: any) => e.type), ['m.room.member']);
  });
});

describe('voice roster after a restart', () => {
  const pg = backends().find((b) => b.name === 'postgres');

  it('ends the call state a previous run left (calls do not survive a restart)', async function () {
    this.timeout(60_000);
    // Two servers on one PostgreSQL database: the first one's lease is made to have run out,
    // as if it crashed, and the second starting up is "the next run".
    if (!janus || !pg) this.skip(); // needs janus and DATABASE_URL
    const db = await pg.create();
    const config = (port = 0) => buildConfig({
      port, host: '127.0.0.1', dataDir: ':memory:', serverName: 'whisper.test', databaseUrl: db.databaseUrl,
      registration: 'open', logLevel: 'warn', rateLimits: uniformRateLimits({ points: 100_000, durationSec: 60 }),
    });
    const first = await startTestServerOn(config());
    const clients: SignalClient[] = [];
    let second: Awaited<ReturnType<typeof startHomeserver>> | undefined;
    try {
      const [alice, bob] = [await first.register(), await first.register()];
      const roomId = await voiceChannel(first, alice, [bob]);
      await inCall(first, alice, roomId, clients);
      await inCall(first, bob, roomId, clients);
      assert.equal((await first.request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/${MEMBER}/${encodeURIComponent(bob.user_id)}`, { token: alice.access_token })).body.joined, true);
      await first.hs.database.db('voice_leases').update({ expires_ts: 0 });
      second = await startHomeserver(config(), createLogger('silent'));
      for (const u of [alice, bob]) {
        const res: Response = await fetch(`${second.url}${V3}/rooms/${encodeURIComponent(roomId)}/state/${MEMBER}/${encodeURIComponent(u.user_id)}`, { headers: { authorization: `Bearer ${alice.access_token}` } });
        assert.deepEqual(await res.json(), { joined: false, muted: false, deafened: false, streams: [] });
      }
    } finally {
      clients.forEach((c) => c.close());
      await second?.close();
      await first.close();
      await db.drop();
    }
  });
});
