/**
 * Several server processes sharing one PostgreSQL: a session ended through one is refused by
 * the others (their token caches hear of it by LISTEN/NOTIFY), rate limits are shared, and
 * what each process caches of rooms' state and users' push rules never outlives a change
 * made through another.
 */
import assert from 'node:assert/strict';
import { backends, startTestServer, type TestServer } from './harness.ts';
import { buildConfig } from '../homeserver/config.ts';
import { createLogger } from '../homeserver/logging.ts';
import { startHomeserver } from '../homeserver/main.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds or the time is up (a notification crosses processes). */
async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(25);
  }
  return check();
}

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe('two server processes on one PostgreSQL', function () {
    this.timeout(60_000);
    let a: TestServer;
    let bUrl: string;
    let closeB: () => Promise<void>;

    before(async () => {
      a = await startTestServer(backend, { rateLimits: { loginPerAccount: { points: 4, durationSec: 60 } } });
      // A second server on the same database (A's), as a second process would be.
      const b = await startHomeserver(
        buildConfig({ ...a.config, port: 0, publicUrl: undefined }),
        createLogger('silent'),
      );
      bUrl = b.url;
      closeB = b.close;
    });
    after(async () => {
      await closeB?.();
      await a?.close();
    });

    const whoamiOnB = (token: string) =>
      fetch(`${bUrl}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);

    it('a logout through A is refused by B, which had the token cached', async () => {
      const u = await a.register('roamer');
      assert.equal(await whoamiOnB(u.access_token), 200);
      assert.equal(await whoamiOnB(u.access_token), 200, 'served from B\'s cache');
      const out = await a.request('POST', '/_matrix/client/v3/logout', { token: u.access_token });
      assert.equal(out.status, 200);
      assert.ok(await eventually(async () => (await whoamiOnB(u.access_token)) === 401), 'B refuses the ended session');
    });

    it('a password change through A signs the other sessions out on B too', async () => {
      const u = await a.register('changer');
      const other = await a.request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'changer', password: u.password } });
      assert.equal(await whoamiOnB(other.body.access_token), 200);
      const res = await a.request('POST', '/_matrix/client/v3/account/password', {
        token: u.access_token,
        body: { new_password: 'changed password', auth: { type: 'm.login.password', user: 'changer', password: u.password } },
      });
      assert.equal(res.status, 200);
      assert.ok(await eventually(async () => (await whoamiOnB(other.body.access_token)) === 401));
      assert.equal(await whoamiOnB(u.access_token), 200, 'the session that changed it stays');
    });

    const onB = (method: string, path: string, token: string, body?: unknown) =>
      fetch(`${bUrl}${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined })
        .then(async (r) => ({ status: r.status, body: await r.json() }));
    const room = (id: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(id)}`;

    it('a room\'s state changed through A holds at once on B, whose state cache had the room', async () => {
      const owner = await a.register('stateowner');
      const guest = await a.register('stateguest');
      const made = await a.request('POST', '/_matrix/client/v3/createRoom', { token: owner.access_token, body: { preset: 'public_chat' } });
      const roomId = made.body.room_id as string;
      assert.equal((await onB('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, guest.access_token, {})).status, 200);
      // B works the room out (and caches its state) for a few sends, the topic among them.
      const say = (txn: string) => onB('PUT', `${room(roomId)}/send/m.room.message/${txn}`, guest.access_token, { msgtype: 'm.text', body: txn });
      for (let i = 0; i < 3; i++) assert.equal((await say(`b${i}`)).status, 200);
      // Through A: messages now need power 50, which the guest lacks.
      const levels = (await a.request('GET', `${room(roomId)}/state/m.room.power_levels/`, { token: owner.access_token })).body;
      const setMessageLevel = (level: number) =>
        a.request('PUT', `${room(roomId)}/state/m.room.power_levels/`, { token: owner.access_token, body: { ...levels, events: { ...levels.events, 'm.room.message': level } } });
      assert.equal((await setMessageLevel(50)).status, 200);
      const refused = await say('b-raised');
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      // Back to 0 through A: B lets the guest speak again.
      assert.equal((await setMessageLevel(0)).status, 200);
      assert.equal((await say('b-lowered')).status, 200);
      // A ban through A: B refuses the banned user's next message.
      assert.equal((await a.request('POST', `${room(roomId)}/ban`, { token: owner.access_token, body: { user_id: guest.user_id } })).status, 200);
      assert.equal((await say('b-banned')).status, 403);
      // B's owner, whose levels B had cached, still sends; A sees it in the room's line.
      const fromB = await onB('PUT', `${room(roomId)}/send/m.room.message/b-owner`, owner.access_token, { msgtype: 'm.text', body: 'from B' });
      const fromA = await a.request('PUT', `${room(roomId)}/send/m.room.message/a1`, { token: owner.access_token, body: { msgtype: 'm.text', body: 'from A' } });
      const context = await a.request('GET', `${room(roomId)}/context/${encodeURIComponent(fromA.body.event_id)}?limit=2`, { token: owner.access_token });
      assert.equal(context.body.events_before[0].event_id, fromB.body.event_id);
    });

    it('messages sent at once through A and B, each caching the room, still form one line, and a retried transaction id stays one event', async () => {
      const owner = await a.register('lineowner');
      const guest = await a.register('lineguest');
      const roomId = (await a.request('POST', '/_matrix/client/v3/createRoom', { token: owner.access_token, body: { preset: 'public_chat' } })).body.room_id as string;
      assert.equal((await onB('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, guest.access_token, {})).status, 200);
      const viaA = (txn: string) => a.request('PUT', `${room(roomId)}/send/m.room.message/${txn}`, { token: owner.access_token, body: { msgtype: 'm.text', body: txn } });
      const viaB = (txn: string) => onB('PUT', `${room(roomId)}/send/m.room.message/${txn}`, guest.access_token, { msgtype: 'm.text', body: txn });
      // Both processes have the room cached after one send each; from then on each one's
      // cached newest event is stale whenever the other has written.
      assert.equal((await viaA('warm-a')).status, 200);
      assert.equal((await viaB('warm-b')).status, 200);
      const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? viaB(`b${i}`) : viaA(`a${i}`))));
      for (const r of sent) assert.equal(r.status, 200, JSON.stringify(r.body));
      // Retried through the same process, interleaved with the other's sends: the same event.
      const again = await Promise.all([viaA('a0'), viaB('x'), viaB('b1'), viaA('y')]);
      assert.equal(again[0].body.event_id, sent[0].body.event_id);
      assert.equal(again[2].body.event_id, sent[1].body.event_id);
      // One line: every event at its own depth, linked after the one before it.
      const rows = await a.hs.database.db('events').where({ room_id: roomId }).orderBy('stream_ordering').select('event_id', 'depth', 'json');
      const ids = new Set(rows.map((r) => r.event_id));
      for (const r of [...sent, ...again]) assert.ok(ids.has(r.body.event_id));
      assert.equal(rows.filter((r) => r.json.type === 'm.room.message').length, 24, 'warm-up, 20, and two new ones: no duplicate');
      rows.forEach((r, i) => {
        assert.equal(Number(r.depth), i + 1, `depth of event ${i}`);
        assert.deepEqual(r.json.prev_events, i === 0 ? [] : [rows[i - 1].event_id], `prev_events of event ${i}`);
      });
    });

    it('a presence change through B is heard by A at once: the next send through A makes the user online again', async () => {
      const u = await a.register('presencer');
      const status = () => a.request('GET', `/_matrix/client/v3/presence/${encodeURIComponent(u.user_id)}/status`, { token: u.access_token }).then((r) => r.body.presence);
      // A knows the user online (a sync and a send through A).
      await a.request('GET', '/_matrix/client/v3/sync?timeout=0', { token: u.access_token });
      const roomId = (await a.request('POST', '/_matrix/client/v3/createRoom', { token: u.access_token, body: {} })).body.room_id as string;
      assert.equal(await status(), 'online');
      assert.equal((await onB('PUT', `/_matrix/client/v3/presence/${encodeURIComponent(u.user_id)}/status`, u.access_token, { presence: 'unavailable' })).status, 200);
      assert.ok(await eventually(async () => (await status()) === 'unavailable'));
      // A must not answer from what it knew before B's change.
      await a.request('PUT', `${room(roomId)}/send/m.room.message/p1`, { token: u.access_token, body: { msgtype: 'm.text', body: 'back' } });
      assert.ok(await eventually(async () => (await status()) === 'online'), 'the send made the user online again');
    });

    it('a push rule changed through A applies to the next message sent through B', async () => {
      const alice = await a.register('pushalice');
      const bob = await a.register('pushbob');
      const made = await a.request('POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { preset: 'public_chat', name: 'three people' } });
      const roomId = made.body.room_id as string;
      const carol = await a.register('pushcarol');
      for (const u of [bob, carol]) assert.equal((await a.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: u.access_token, body: {} })).status, 200);
      const unread = async () => {
        const res = await a.request('GET', `/_matrix/client/v3/sync?filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1 } } }))}`, { token: alice.access_token });
        return res.body.rooms.join[roomId].unread_notifications.notification_count as number;
      };
      assert.equal((await onB('PUT', `${room(roomId)}/send/m.room.message/p1`, bob.access_token, { msgtype: 'm.text', body: 'one' })).status, 200);
      assert.equal(await unread(), 1, 'B evaluated (and cached) alice\'s rules');
      // Through A, alice silences ordinary messages.
      const off = await a.request('PUT', '/_matrix/client/v3/pushrules/global/underride/.m.rule.message/enabled', { token: alice.access_token, body: { enabled: false } });
      assert.equal(off.status, 200);
      assert.ok(await eventually(async () => {
        const before = await unread();
        await onB('PUT', `${room(roomId)}/send/m.room.message/p-${Date.now()}`, carol.access_token, { msgtype: 'm.text', body: 'quiet?' });
        return (await unread()) === before;
      }), 'a message through B after the change does not count');
    });

    it('a block through A holds at once for sends and syncs through B, which had both block lists cached', async () => {
      const alice = await a.register('blockalice');
      const bob = await a.register('blockbob');
      const made = await a.request('POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { preset: 'public_chat', name: 'two people' } });
      const roomId = made.body.room_id as string;
      assert.equal((await a.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} })).status, 200);
      const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 10 } } }));
      const syncOnB = async (since?: string) => (await onB('GET', `/_matrix/client/v3/sync?filter=${filter}${since ? `&since=${encodeURIComponent(since)}` : ''}`, alice.access_token)).body;
      const bobSays = async (txn: string) => {
        const sent = await onB('PUT', `${room(roomId)}/send/m.room.message/${txn}`, bob.access_token, { msgtype: 'm.text', body: txn });
        assert.equal(sent.status, 200);
        return sent.body.event_id as string;
      };
      // B caches who blocked bob (his send) and whom alice blocked (her sync): nobody, so far.
      const before = await bobSays('before');
      let synced = await syncOnB();
      assert.deepEqual(synced.rooms.join[roomId].timeline.events.filter((e: { type: string }) => e.type === 'm.room.message').map((e: { event_id: string }) => e.event_id), [before]);
      assert.equal(synced.rooms.join[roomId].unread_notifications.notification_count, 1);
      assert.equal((await a.request('PUT', `/_whisper/client/v1/blocks/${encodeURIComponent(bob.user_id)}`, { token: alice.access_token, body: {} })).status, 200);
      assert.ok(await eventually(async () => {
        const after = await bobSays(`after-${Date.now()}`);
        synced = await syncOnB(synced.next_batch);
        const section = synced.rooms.join[roomId];
        // Bob's new message neither reaches alice's timeline nor counts; nor does the old one now.
        return !JSON.stringify(section?.timeline.events ?? []).includes(after) && (section?.unread_notifications.notification_count ?? 0) === 0;
      }), 'B hides the blocked sender at once');
      const pushActions = await a.request('GET', '/_matrix/client/v3/notifications', { token: alice.access_token });
      assert.deepEqual(pushActions.body.notifications, [], 'no notification was recorded for bob after the block, and the earlier one is hidden');
    });

    it('the per-account login limit is shared between the processes', async () => {
      const login = (url: string) =>
        fetch(`${url}/_matrix/client/v3/login`, {
          method: 'POST', body: JSON.stringify({ type: 'm.login.password', user: 'limited', password: 'wrong password' }),
        }).then((r) => r.status);
      const statuses = [await login(a.url), await login(bUrl), await login(a.url), await login(bUrl), await login(a.url), await login(bUrl)];
      assert.deepEqual(statuses, [403, 403, 403, 403, 429, 429]);
    });
  });
}
