/**
 * Presence and the user directory: online while syncing, offline after the timeout,
 * status messages, presence in sync for those who share a room (and only them), and
 * directory search limited to people the searcher can reach.
 */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const V3 = '/_matrix/client/v3';

async function shareRoom(srv: TestServer, a: TestUser, b: TestUser, extra: Record<string, unknown> = {}): Promise<string> {
  const room = await srv.request('POST', `${V3}/createRoom`, { token: a.access_token, body: { invite: [b.user_id], ...extra } });
  await srv.request('POST', `${V3}/join/${encodeURIComponent(room.body.room_id)}`, { token: b.access_token, body: {} });
  return room.body.room_id;
}

const presenceOf = (body: { presence: { events: Array<{ sender: string; content: Record<string, unknown> }> } }, userId: string) =>
  body.presence.events.filter((e) => e.sender === userId).at(-1)?.content;

describeServer('presence', { presenceOfflineAfterMs: 1500, presenceIdleAfterMs: 60_000 }, (srv) => {
  const sync = (u: TestUser, since?: string, timeout = 0, extra = '') =>
    srv().request('GET', `${V3}/sync?timeout=${timeout}${since ? `&since=${since}` : ''}${extra}`, { token: u.access_token });
  const status = (u: TestUser, of: TestUser) => srv().request('GET', `${V3}/presence/${encodeURIComponent(of.user_id)}/status`, { token: u.access_token });

  it('online while syncing, offline after the timeout, seen by room peers through sync', async () => {
    const alice = await srv().register();
    const bob = await srv().register();
    await shareRoom(srv(), alice, bob);
    const bobStart = (await sync(bob, undefined, 0, '&set_presence=offline')).body.next_batch;

    // Bob long-polls; alice comes online by syncing, which wakes him.
    const polling = sync(bob, bobStart, 10_000, '&set_presence=offline');
    await new Promise((r) => setTimeout(r, 200));
    await sync(alice);
    const woke = await polling;
    assert.equal(presenceOf(woke.body, alice.user_id)?.presence, 'online');
    assert.equal((await status(bob, alice)).body.presence, 'online');
    assert.equal((await status(bob, alice)).body.currently_active, true);

    // Alice stops syncing: after the timeout she goes offline, and bob hears it.
    const gone = await sync(bob, woke.body.next_batch, 10_000, '&set_presence=offline');
    assert.equal(presenceOf(gone.body, alice.user_id)?.presence, 'offline');
    assert.equal((await status(bob, alice)).body.presence, 'offline');
  });

  it('a long-poll keeps its user online past the timeout', async () => {
    const carol = await srv().register();
    const dave = await srv().register();
    await shareRoom(srv(), carol, dave);
    const first = await sync(carol);
    await sync(carol, first.body.next_batch, 3000);
    assert.equal((await status(dave, carol)).body.presence, 'online');
  });

  it('status messages, set_presence=unavailable, and who may look', async () => {
    const alice = await srv().register();
    const bob = await srv().register();
    const stranger = await srv().register();
    await shareRoom(srv(), alice, bob);
    const put = await srv().request('PUT', `${V3}/presence/${encodeURIComponent(alice.user_id)}/status`, {
      token: alice.access_token, body: { presence: 'online', status_msg: 'playing Factorio' },
    });
    assert.equal(put.status, 200);
    const seen = await status(bob, alice);
    assert.equal(seen.body.presence, 'online');
    assert.equal(seen.body.status_msg, 'playing Factorio');
    assert.equal(typeof seen.body.last_active_ago, 'number');

    const other = await srv().request('PUT', `${V3}/presence/${encodeURIComponent(bob.user_id)}/status`, { token: alice.access_token, body: { presence: 'online' } });
    assert.equal(other.status, 403);
    assert.equal((await status(stranger, alice)).status, 403, 'a stranger cannot watch alice');
    assert.equal((await srv().request('GET', `${V3}/presence/${encodeURIComponent('@nobody:whisper.test')}/status`, { token: alice.access_token })).status, 404);
    const bad = await srv().request('PUT', `${V3}/presence/${encodeURIComponent(alice.user_id)}/status`, { token: alice.access_token, body: { presence: 'busy' } });
    assert.equal(bad.body.errcode, 'M_BAD_JSON');

    await sync(bob, undefined, 0, '&set_presence=unavailable');
    assert.equal((await status(alice, bob)).body.presence, 'unavailable');
    // A stranger's initial sync carries no presence of alice.
    const strangers = await sync(stranger);
    assert.equal(presenceOf(strangers.body, alice.user_id), undefined);
    const bobs = await sync(bob, undefined, 0, '&set_presence=offline');
    assert.equal(presenceOf(bobs.body, alice.user_id)?.status_msg, 'playing Factorio');
  });

  it('who may look follows joins and leaves at once (the room peers a process keeps)', async () => {
    const alice = await srv().register();
    const erin = await srv().register();
    const setMsg = (msg: string) =>
      srv().request('PUT', `${V3}/presence/${encodeURIComponent(alice.user_id)}/status`, { token: alice.access_token, body: { presence: 'online', status_msg: msg } });
    await setMsg('lobby');
    // Erin's peers are worked out (and kept) before she shares a room with alice.
    assert.equal((await status(erin, alice)).status, 403);
    let since = (await sync(erin, undefined, 0, '&set_presence=offline')).body.next_batch;
    const roomId = await shareRoom(srv(), alice, erin);
    assert.equal((await status(erin, alice)).body.status_msg, 'lobby', 'a peer once joined');
    since = (await sync(erin, since, 0, '&set_presence=offline')).body.next_batch;
    await setMsg('in a match');
    const heard = await sync(erin, since, 5000, '&set_presence=offline');
    assert.equal(presenceOf(heard.body, alice.user_id)?.status_msg, 'in a match');

    await srv().request('POST', `${V3}/rooms/${encodeURIComponent(roomId)}/leave`, { token: erin.access_token, body: {} });
    assert.equal((await status(erin, alice)).status, 403, 'not a peer once she left');
    since = (await sync(erin, heard.body.next_batch, 0, '&set_presence=offline')).body.next_batch;
    await setMsg('back in the lobby');
    const after = await sync(erin, since, 500, '&set_presence=offline');
    assert.equal(presenceOf(after.body, alice.user_id), undefined, 'no presence of someone she no longer shares a room with');
  });
});

describeServer('user directory', {}, (srv) => {
  const search = (u: TestUser, term: string, limit?: number) =>
    srv().request('POST', `${V3}/user_directory/search`, { token: u.access_token, body: { search_term: term, ...(limit ? { limit } : {}) } });

  it('finds people who share a room or sit in a published room, by id or name', async () => {
    const me = await srv().register('dirme');
    const friend = await srv().register('dirfriend');
    const lurker = await srv().register('dirlurker');
    const hidden = await srv().register('dirhidden');
    await srv().request('PUT', `${V3}/profile/${encodeURIComponent(friend.user_id)}/displayname`, { token: friend.access_token, body: { displayname: 'Zoë Gamer' } });
    await shareRoom(srv(), me, friend);
    // The lurker is in a room published to the directory.
    const pub = await srv().request('POST', `${V3}/createRoom`, { token: lurker.access_token, body: { preset: 'public_chat', visibility: 'public' } });
    assert.equal(pub.status, 200);

    const byName = await search(me, 'zoë');
    assert.deepEqual(byName.body.results, [{ user_id: friend.user_id, display_name: 'Zoë Gamer' }]);
    assert.equal(byName.body.limited, false);
    const byId = await search(me, 'dir');
    const ids = byId.body.results.map((r: { user_id: string }) => r.user_id);
    assert.ok(ids.includes(friend.user_id) && ids.includes(lurker.user_id));
    assert.ok(!ids.includes(hidden.user_id), 'someone in no shared or public room stays hidden');
    const limited = await search(me, 'dir', 1);
    assert.equal(limited.body.results.length, 1);
    assert.equal(limited.body.limited, true);
    // LIKE wildcards are literal.
    assert.deepEqual((await search(me, '%')).body.results, []);
    assert.equal((await srv().request('POST', `${V3}/user_directory/search`, { token: me.access_token, body: {} })).body.errcode, 'M_MISSING_PARAM');
  });

  it('finds friends even after their DM was left, and never someone who blocked you', async () => {
    const me = await srv().register('pal1');
    const pal = await srv().register('pal2');
    const blocker = await srv().register('pal3');
    const W = '/_whisper/client/v1';
    const request = await srv().request('POST', `${W}/friends/requests`, { token: me.access_token, body: { user_id: pal.user_id } });
    await srv().request('POST', `${W}/friends/requests/${encodeURIComponent(me.user_id)}/accept`, { token: pal.access_token, body: {} });
    await srv().request('POST', `${V3}/rooms/${encodeURIComponent(request.body.room_id)}/leave`, { token: pal.access_token, body: {} });
    await srv().request('POST', `${V3}/rooms/${encodeURIComponent(request.body.room_id)}/leave`, { token: me.access_token, body: {} });
    await shareRoom(srv(), me, blocker);
    assert.deepEqual((await search(me, 'pal')).body.results.map((r: { user_id: string }) => r.user_id).sort(), [me.user_id, pal.user_id, blocker.user_id].sort());
    await srv().request('PUT', `${W}/blocks/${encodeURIComponent(me.user_id)}`, { token: blocker.access_token, body: {} });
    const after = (await search(me, 'pal')).body.results.map((r: { user_id: string }) => r.user_id);
    assert.ok(after.includes(pal.user_id), 'a friend with no shared room');
    assert.ok(!after.includes(blocker.user_id), 'someone who blocked me');
  });
});

describeServer('presence: activity', { presenceOfflineAfterMs: 60_000, presenceIdleAfterMs: 60_000, presenceActiveGranularityMs: 400 }, (srv) => {
  const sync = (u: TestUser, since?: string, timeout = 0, extra = '') =>
    srv().request('GET', `${V3}/sync?timeout=${timeout}${since ? `&since=${since}` : ''}${extra}`, { token: u.access_token });
  const status = (u: TestUser, of: TestUser) => srv().request('GET', `${V3}/presence/${encodeURIComponent(of.user_id)}/status`, { token: u.access_token });
  const send = (u: TestUser, roomId: string, body: string) =>
    srv().request('PUT', `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${body}`, { token: u.access_token, body: { msgtype: 'm.text', body } });

  it('sending makes an online user currently active again; those active together are one presence write', async () => {
    const bob = await srv().register();
    const active = [await srv().register(), await srv().register(), await srv().register(), await srv().register()];
    const rooms: string[] = [];
    for (const u of active) rooms.push(await shareRoom(srv(), u, bob));
    await Promise.all(active.map((u) => sync(u)));
    let since = (await sync(bob, undefined, 0, '&set_presence=offline')).body.next_batch;
    // Past the granularity, still syncing (which keeps them online, not active).
    await new Promise((r) => setTimeout(r, 600));
    await Promise.all(active.map((u) => sync(u)));
    assert.equal((await status(bob, active[0])).body.currently_active, false);
    const stale = (await status(bob, active[0])).body.last_active_ago;

    await Promise.all(active.map((u, i) => send(u, rooms[i], `back-${i}`)));
    // The presence tick (every 5 s here) records them; run it now rather than wait.
    await srv().hs.services.presence.tick();
    const heard = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < 10 && active.some((u) => !heard.get(u.user_id)?.currently_active); i++) {
      const res = await sync(bob, since, 2000, '&set_presence=offline');
      for (const u of active) {
        const p = presenceOf(res.body, u.user_id);
        if (p) heard.set(u.user_id, p);
      }
      since = res.body.next_batch;
    }
    for (const u of active) {
      assert.equal(heard.get(u.user_id)?.currently_active, true, u.user_id);
      assert.ok((heard.get(u.user_id)?.last_active_ago as number) < stale, u.user_id);
      assert.equal(heard.get(u.user_id)?.presence, 'online');
    }
    // Batched: one position for all (two if the timer's tick fell amid the sends), not one each.
    const rows = await srv().hs.database.db('presence').whereIn('user_id', active.map((u) => u.user_id)).select('stream_position');
    assert.ok(new Set(rows.map((r: { stream_position: string }) => String(r.stream_position))).size <= 2, JSON.stringify(rows));
  });

  it('an idle user who sends is online and currently active again', async () => {
    const [dave, erin] = [await srv().register(), await srv().register()];
    const room = await shareRoom(srv(), dave, erin);
    await srv().request('PUT', `${V3}/presence/${encodeURIComponent(dave.user_id)}/status`, { token: dave.access_token, body: { presence: 'unavailable' } });
    await send(dave, room, 'hi');
    // The send answers before its presence write ends.
    let seen: Record<string, unknown> = {};
    for (let i = 0; i < 20 && seen.presence !== 'online'; i++) {
      seen = (await status(erin, dave)).body;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(seen.presence, 'online');
    assert.equal(seen.currently_active, true);
  });
});

describeServer('presence: staying active', { presenceOfflineAfterMs: 60_000, presenceIdleAfterMs: 60_000, presenceActiveGranularityMs: 2000 }, (srv) => {
  const sync = (u: TestUser, since?: string, timeout = 0, extra = '') =>
    srv().request('GET', `${V3}/sync?timeout=${timeout}${since ? `&since=${since}` : ''}${extra}`, { token: u.access_token });
  const rowOf = async (u: TestUser) => {
    const r = await srv().hs.database.db('presence').where({ user_id: u.user_id }).first();
    return { position: Number(r.stream_position), lastActive: Number(r.last_active_ts) };
  };

  it('a user who keeps chatting stays currently active, and nobody is woken to hear it', async () => {
    const [fay, gus] = [await srv().register(), await srv().register()];
    const room = await shareRoom(srv(), fay, gus);
    await sync(fay);
    const since = (await sync(gus, undefined, 0, '&set_presence=offline')).body.next_batch;
    const before = await rowOf(fay);
    // Past half the granularity: still currently active, but the activity is worth keeping.
    await new Promise((r) => setTimeout(r, 1200));
    await srv().request('PUT', `${V3}/rooms/${encodeURIComponent(room)}/send/m.room.message/t1`, { token: fay.access_token, body: { msgtype: 'm.text', body: 'still here' } });
    await srv().hs.services.presence.tick();
    const after = await rowOf(fay);
    assert.ok(after.lastActive >= before.lastActive + 1000, 'the activity is recorded');
    assert.equal(after.position, before.position, 'at no new position');
    const res = await sync(gus, since, 300, '&set_presence=offline');
    assert.ok(res.body.rooms?.join?.[room], 'gus got the message');
    assert.equal(presenceOf(res.body, fay.user_id), undefined, 'and no presence change of fay');
    const seen = await srv().request('GET', `${V3}/presence/${encodeURIComponent(fay.user_id)}/status`, { token: gus.access_token });
    assert.equal(seen.body.currently_active, true);
    assert.ok(seen.body.last_active_ago < 1000, `fresh activity (${seen.body.last_active_ago} ms ago)`);
  });
});
