/**
 * Voice with several server processes on one PostgreSQL and one Janus (the test's own, which
 * every process reaches through JANUS_URL, as with docker compose): users of one channel whose
 * signaling lands on different processes are put in the same Janus room and see each other in
 * the roster; after Janus restarts, both processes' clients rejoin that one room; a process
 * that dies mid-call (a real child process, SIGKILL) has its calls ended by another once its
 * lease ran out, while the other processes' calls stay; a process starting up ends none of
 * them; a process that stalled past its lease has its clients rejoin. These send no media
 * (hand-made offers; Janus announces feeds only once media flows); the last test runs Chromium
 * in a network namespace (spec-tests/media/multiProcessScenario.ts): feed lists, audio and
 * speaking across processes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { buildConfig, uniformRateLimits } from '../homeserver/config.ts';
import { createLogger } from '../homeserver/logging.ts';
import { JanusConnection, type JanusHandle } from '../homeserver/media/janusConnection.ts';
import { decodeDisplay, VIDEOROOM_PLUGIN } from '../homeserver/media/videoRoom.ts';
import { startHomeserver } from '../homeserver/main.ts';
import { backends, type TestServer, type TestUser } from './harness.ts';
import { makeMediaNamespace } from './media/netns.ts';
import { fakeAudioOffer, installed, SignalClient, startSharedJanus, startTestServerOn, type SharedJanus, type Signal } from './voiceHelpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const V3 = '/_matrix/client/v3';
const MEMBER = 'org.whisper.voice.member';
/** Short, so a dead process's calls end within seconds. */
const LEASE_MS = 1500;
const janus = installed('janus');
const pg = backends().find((b) => b.name === 'postgres');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds or the time is up (leases run out, notifications cross processes). */
async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}

/** A homeserver in a child process of its own (`npm start`), so the test can kill it. */
async function spawnServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'homeserver/cli/start.ts')], {
    cwd: ROOT, env: { PATH: process.env.PATH, NODE_NO_WARNINGS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Whisper is running at (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

describe('voice across server processes (one PostgreSQL, one Janus)', function () {
  this.timeout(120_000);
  let shared: SharedJanus;
  let db: Awaited<ReturnType<NonNullable<typeof pg>['create']>>;
  let a: TestServer;
  let b: { child: ChildProcess; url: string } | undefined;
  let inspector: JanusConnection | undefined;
  let control: JanusHandle;
  const clients: SignalClient[] = [];

  const configInput = () => ({
    port: 0, host: '127.0.0.1', dataDir: ':memory:', serverName: 'whisper.test', databaseUrl: db.databaseUrl,
    registration: 'open' as const, logLevel: 'warn' as const, rateLimits: uniformRateLimits({ points: 100_000, durationSec: 60 }),
    janusUrl: shared.url, janusApiSecret: shared.apiSecret, janusAdminKey: shared.adminKey, voiceLeaseMs: LEASE_MS,
  });

  before(async function () {
    if (!janus || !pg) this.skip(); // needs the Debian janus package and DATABASE_URL
    shared = await startSharedJanus(janus);
    db = await pg.create();
    a = await startTestServerOn(buildConfig(configInput()));
    b = await spawnServer({
      WHISPER_PORT: '0', WHISPER_HOST: '127.0.0.1', WHISPER_DATA_DIR: ':memory:', WHISPER_SERVER_NAME: 'whisper.test',
      DATABASE_URL: db.databaseUrl!, WHISPER_REGISTRATION: 'open', WHISPER_LOG_LEVEL: 'warn',
      JANUS_URL: shared.url, JANUS_API_SECRET: shared.apiSecret, WHISPER_JANUS_ADMIN_KEY: shared.adminKey, WHISPER_VOICE_LEASE_MS: String(LEASE_MS),
    });
  });
  after(async () => {
    clients.forEach((c) => c.close());
    inspector?.close();
    b?.child.kill('SIGKILL');
    await a?.close();
    await db?.drop();
    await shared?.stop();
  });

  /** A look into the shared Janus, as its operator has it (API secret, admin key). */
  const janusControl = async () => {
    if (!inspector?.isOpen) {
      inspector = await JanusConnection.open(shared.url, shared.apiSecret);
      control = await (await inspector.createSession()).attach(VIDEOROOM_PLUGIN);
    }
    return control;
  };
  const janusRoomsOf = async (roomId: string) => {
    const listed = await (await janusControl()).request({ request: 'list', admin_key: shared.adminKey });
    return (listed.list as Array<{ room: number; description: string }>).filter((r) => r.description === roomId).map((r) => r.room);
  };
  const participants = async (room: number) => {
    const res = await (await janusControl()).request({ request: 'listparticipants', room });
    return (res.participants as Array<{ display: string }>).map((p) => decodeDisplay(p.display)?.userId).sort();
  };
  const rowsOf = async (roomId: string) => (await a.hs.database.db('voice_janus_rooms').where({ room_id: roomId }).select('janus_room')).map((r) => Number(r.janus_room));

  const connect = async (url: string, u: TestUser) => {
    const { client, first } = await SignalClient.connect(url, u.access_token);
    clients.push(client);
    assert.equal(first.type, 'ready', JSON.stringify(first));
    return client;
  };
  const joinAndPublish = async (c: SignalClient, roomId: string): Promise<number> => {
    const joined = await c.request({ type: 'join', room_id: roomId });
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
    const published = await c.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() });
    assert.equal(published.type, 'published', JSON.stringify(published));
    return published.feed;
  };
  const memberState = async (url: string, as: TestUser, roomId: string, of: TestUser) => {
    const res = await fetch(`${url}${V3}/rooms/${encodeURIComponent(roomId)}/state/${MEMBER}/${encodeURIComponent(of.user_id)}`, { headers: { authorization: `Bearer ${as.access_token}` } });
    return res.json() as Promise<Signal>;
  };

  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let aliceClient: SignalClient;
  let bobClient: SignalClient;

  it('users of one channel on different processes join the same Janus room and both see the whole roster', async () => {
    [alice, bob] = [await a.register(), await a.register()];
    const made = await a.request('POST', `${V3}/createRoom`, { token: alice.access_token, body: { creation_content: { type: 'org.whisper.voice' }, invite: [bob.user_id] } });
    roomId = made.body.room_id;
    assert.equal((await a.request('POST', `${V3}/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} })).status, 200);
    aliceClient = await connect(a.url, alice);
    bobClient = await connect(b!.url, bob);
    // Both processes make the channel's room at once: one row, one Janus room.
    const [aliceFeed, bobFeed] = await Promise.all([joinAndPublish(aliceClient, roomId), joinAndPublish(bobClient, roomId)]);
    const rows = await rowsOf(roomId);
    assert.equal(rows.length, 1);
    assert.deepEqual(await janusRoomsOf(roomId), rows);
    assert.deepEqual(await participants(rows[0]), [alice.user_id, bob.user_id].sort());
    // Each process shows both users in the call, with the feeds to subscribe to.
    for (const url of [a.url, b!.url]) {
      assert.deepEqual(await memberState(url, alice, roomId, bob), { joined: true, muted: false, deafened: false, streams: [{ feed: bobFeed, kind: 'voice' }] });
      assert.deepEqual(await memberState(url, bob, roomId, alice), { joined: true, muted: false, deafened: false, streams: [{ feed: aliceFeed, kind: 'voice' }] });
    }
    // No process put the room's pin or secret in what clients see.
    const row = await a.hs.database.db('voice_janus_rooms').where({ room_id: roomId }).first();
    const sync = await a.request('GET', `${V3}/sync?timeout=0`, { token: alice.access_token });
    assert.ok(!JSON.stringify(sync.body).includes(row.pin) && !JSON.stringify(sync.body).includes(row.secret));
  });

  it('after Janus restarts (losing its rooms), the clients of both processes rejoin the one room', async () => {
    const [room] = await rowsOf(roomId);
    await shared.restart();
    for (const c of [aliceClient, bobClient]) assert.equal((await c.nextEvent((m) => m.type === 'reset')).room_id, roomId);
    assert.deepEqual(await janusRoomsOf(roomId), [], 'the new Janus has no rooms');
    await Promise.all([joinAndPublish(aliceClient, roomId), joinAndPublish(bobClient, roomId)]);
    assert.deepEqual(await rowsOf(roomId), [room]);
    assert.deepEqual(await janusRoomsOf(roomId), [room]);
    assert.deepEqual(await participants(room), [alice.user_id, bob.user_id].sort());
  });

  it('a process that dies mid-call has only its calls ended, once its lease ran out', async () => {
    // Bob (on B) also goes live, so B owns a stream too.
    const stream = await bobClient.request({ type: 'publish', kind: 'stream', stream_id: 'screen', jsep: fakeAudioOffer() });
    assert.equal(stream.type, 'published', JSON.stringify(stream));
    const streamState = async () => {
      const res = await a.request('GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state/org.whisper.stream/${encodeURIComponent(`screen|${bob.user_id}`)}`, { token: alice.access_token });
      return res.body;
    };
    assert.equal((await streamState()).feed, stream.feed);
    const exited = new Promise((r) => b!.child.once('exit', r));
    b!.child.kill('SIGKILL');
    await exited;
    assert.ok(await eventually(async () => (await memberState(a.url, alice, roomId, bob)).joined === false), 'B\'s call is ended by A');
    assert.deepEqual(await streamState(), {});
    const aliceState = await memberState(a.url, bob, roomId, alice);
    assert.equal(aliceState.joined, true, 'A\'s call stays');
    // Alice is still in the Janus room, Bob's handles went with his process's session.
    const [room] = await rowsOf(roomId);
    assert.deepEqual(await participants(room), [alice.user_id]);
    assert.equal((await a.hs.database.db('voice_leases').count<{ count: string }[]>('* as count'))[0].count, '1', 'B\'s lease is forgotten');
  });

  it('a process starting up ends no call another live process serves; one closing ends only its own', async () => {
    const c = await startHomeserver(buildConfig(configInput()), createLogger('silent'));
    let closed = false;
    try {
      assert.equal((await memberState(c.url, bob, roomId, alice)).joined, true, 'C\'s start-up left A\'s call alone');
      const carol = await a.register();
      await a.request('POST', `${V3}/rooms/${encodeURIComponent(roomId)}/invite`, { token: alice.access_token, body: { user_id: carol.user_id } });
      await a.request('POST', `${V3}/join/${encodeURIComponent(roomId)}`, { token: carol.access_token, body: {} });
      await joinAndPublish(await connect(c.url, carol), roomId);
      const [room] = await rowsOf(roomId);
      assert.deepEqual(await participants(room), [alice.user_id, carol.user_id].sort());
      await c.close();
      closed = true;
      assert.equal((await memberState(a.url, alice, roomId, carol)).joined, false);
      assert.equal((await memberState(a.url, carol, roomId, alice)).joined, true);
      // Several lease periods later, A's sweeps still leave its own call alone.
      await sleep(LEASE_MS * 2);
      assert.equal((await memberState(a.url, carol, roomId, alice)).joined, true);
    } finally {
      if (!closed) await c.close();
    }
  });

  it('a process that finds its lease ran out (it stalled) tells its clients to rejoin, and they do', async () => {
    // As if A had stalled past its lease: another process may have ended its calls meanwhile.
    await a.hs.database.db('voice_leases').update({ expires_ts: 0 });
    const reset = await aliceClient.nextEvent((m) => m.type === 'reset');
    assert.deepEqual([reset.room_id, reset.reason], [roomId, 'lease_expired']);
    const feed = await joinAndPublish(aliceClient, roomId);
    assert.deepEqual((await memberState(a.url, alice, roomId, alice)).streams, [{ feed, kind: 'voice' }]);
    await sleep(LEASE_MS);
    assert.equal((await memberState(a.url, alice, roomId, alice)).joined, true, 'the rejoined call is A\'s again');
  });

  it('a room Janus lost while the processes stayed connected is made again, under the same number', async () => {
    const row = await a.hs.database.db('voice_janus_rooms').where({ room_id: roomId }).first();
    await (await janusControl()).request({ request: 'destroy', room: Number(row.janus_room), secret: row.secret });
    assert.deepEqual(await janusRoomsOf(roomId), []);
    await aliceClient.request({ type: 'leave' });
    await joinAndPublish(aliceClient, roomId);
    assert.deepEqual(await janusRoomsOf(roomId), [Number(row.janus_room)]);
    assert.deepEqual(await participants(Number(row.janus_room)), [alice.user_id]);
  });
});

describe('voice across server processes, with media (Janus + Chromium in a network namespace)', function () {
  this.timeout(180_000);

  it('users on different processes receive each other\'s feeds, hear each other and see each other speak', async function () {
    const missing = ['janus', 'chromium', 'ip'].filter((bin) => !installed(bin));
    if (missing.length || !pg || process.getuid?.() !== 0) this.skip(); // needs janus, chromium, DATABASE_URL and root (a network namespace)
    // PostgreSQL's TCP port is on the host's loopback, out of the namespace; its Unix socket is not.
    const url = new URL(process.env.DATABASE_URL!);
    url.hostname = 'localhost';
    url.searchParams.set('host', '/var/run/postgresql');
    const ns = makeMediaNamespace('whisper-mp');
    try {
      const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, 'spec-tests/media/multiProcessScenario.ts'], {
        cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: url.toString(), NODE_NO_WARNINGS: '1' },
      });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      await new Promise((r) => child.on('exit', r));
      const result = JSON.parse(out.trim().split('\n').at(-1) || '{}');
      if (result.error || !result.alice) throw new Error(`scenario failed: ${result.error}\n${err.slice(-3000)}`);
      const info = JSON.stringify(result);
      assert.deepEqual(result.aliceFeeds, [result.bob], info);
      assert.deepEqual(result.bobFeeds, [result.alice], info);
      assert.ok(result.aliceHears > 1000 && result.bobHears > 1000, info);
      assert.ok(result.bobSawSpeaking.includes(result.alice) && result.aliceSawSpeaking.includes(result.bob), info);
    } finally {
      ns.remove();
    }
  });
});
