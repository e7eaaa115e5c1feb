/**
 * What the blocker reads: a blocked user's messages are left out of /messages (both ways,
 * with pagination tokens that still page through everything else), /context (the context of
 * their own message is 404, as Synapse answers for ignored users), /event, /relations, bundled
 * thread summaries and /threads, /search and /notifications. Their state events (membership,
 * names) stay, as in sync (spec, "Ignoring users"). It is a read-time filter: an unblock shows
 * everything again.
 */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';
import { enc, matrix, ok } from './friendsHelpers.ts';

const V1 = '/_matrix/client/v1';

let txn = 0;
async function send(srv: TestServer, u: TestUser, room: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  const res = await matrix(srv, u, 'PUT', `/rooms/${enc(room)}/send/${type}/b${++txn}`, content);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}
const text = (body: string) => ({ msgtype: 'm.text', body });

/** Pages through /messages `limit` at a time and returns every chunk's events, in order. */
async function pageAll(srv: TestServer, u: TestUser, room: string, dir: 'b' | 'f', limit: number, from?: string): Promise<{ events: any[]; pages: number }> {
  const events: any[] = [];
  let token = from;
  let pages = 0;
  for (;;) {
    const res = await matrix(srv, u, 'GET', `/rooms/${enc(room)}/messages?dir=${dir}&limit=${limit}${token ? `&from=${enc(token)}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    pages++;
    // A page that has more after it is full: blocked events do not leave holes in it.
    if (res.body.end) assert.equal(res.body.chunk.length, limit, 'a page followed by more is full');
    events.push(...res.body.chunk);
    if (!res.body.end) return { events, pages };
    token = res.body.end;
  }
}

const bodies = (evs: any[]) => evs.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

describeServer('blocking: what the blocker reads', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let room: string;

  beforeEach(async () => {
    alice = await srv().register();
    bob = await srv().register();
    carol = await srv().register();
    room = (await matrix(srv(), carol, 'POST', '/createRoom', { name: 'group', invite: [alice.user_id, bob.user_id] })).body.room_id;
    for (const u of [alice, bob]) assert.equal((await matrix(srv(), u, 'POST', `/join/${enc(room)}`)).status, 200);
  });

  const block = () => ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
  const unblock = () => ok(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);

  it('/messages leaves out their messages both ways, keeps their state, and pages steadily', async () => {
    for (const [u, body] of [[carol, 'c1'], [bob, 'b1'], [bob, 'b2'], [carol, 'c2'], [bob, 'b3'], [carol, 'c3'], [bob, 'b4']] as const) {
      await send(srv(), u, room, text(body));
    }
    // A state event of bob's (his new name): stays visible.
    assert.equal((await matrix(srv(), bob, 'PUT', `/profile/${enc(bob.user_id)}/displayname`, { displayname: 'Bobby' })).status, 200);
    await block();

    const back = await pageAll(srv(), alice, room, 'b', 1);
    assert.deepEqual(bodies(back.events), ['c3', 'c2', 'c1']);
    assert.ok(back.events.some((e) => e.type === 'm.room.member' && e.state_key === bob.user_id && e.content.displayname === 'Bobby'), 'bob\'s state events stay');
    assert.ok(!back.events.some((e) => e.sender === bob.user_id && e.state_key === undefined), 'no message of bob\'s');

    const forward = await pageAll(srv(), alice, room, 'f', 2);
    assert.deepEqual(bodies(forward.events), ['c1', 'c2', 'c3']);
    assert.deepEqual(forward.events.map((e) => e.event_id), back.events.map((e) => e.event_id).reverse(), 'the same events either way');

    // Carol, who blocked no one, sees all; so does alice once she unblocks.
    assert.deepEqual(bodies((await pageAll(srv(), carol, room, 'b', 3)).events), ['b4', 'c3', 'b3', 'c2', 'b2', 'b1', 'c1']);
    await unblock();
    assert.deepEqual(bodies((await pageAll(srv(), alice, room, 'b', 3)).events), ['b4', 'c3', 'b3', 'c2', 'b2', 'b1', 'c1']);
  });

  it('/context around an event leaves them out; the context of their message is 404, as is /event', async () => {
    await send(srv(), carol, room, text('c1'));
    const b1 = await send(srv(), bob, room, text('b1'));
    const c2 = await send(srv(), carol, room, text('c2'));
    await send(srv(), bob, room, text('b2'));
    await send(srv(), carol, room, text('c3'));
    await block();

    const ctx = await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}/context/${enc(c2)}?limit=2`);
    assert.equal(ctx.status, 200, JSON.stringify(ctx.body));
    assert.equal(ctx.body.event.event_id, c2);
    assert.deepEqual(bodies(ctx.body.events_before), ['c1']);
    assert.deepEqual(bodies(ctx.body.events_after), ['c3']);
    // Paging on from the context's tokens does not bring them back either.
    const older = await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}/messages?dir=b&limit=10&from=${enc(ctx.body.start)}`);
    assert.ok(!older.body.chunk.some((e: any) => e.sender === bob.user_id && e.type === 'm.room.message'));

    for (const path of [`/context/${enc(b1)}`, `/event/${enc(b1)}`]) {
      const res = await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND', path);
    }
    // Their membership event (state) still has a context.
    const member = (await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}/messages?dir=f&limit=50`)).body.chunk.find(
      (e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id,
    );
    assert.equal((await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}/context/${enc(member.event_id)}`)).status, 200);
    assert.equal((await matrix(srv(), carol, 'GET', `/rooms/${enc(room)}/context/${enc(b1)}`)).status, 200, 'others still see it');

    await unblock();
    const again = await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}/context/${enc(b1)}`);
    assert.equal(again.status, 200);
    assert.deepEqual(bodies(again.body.events_after).slice(0, 2), ['c2', 'b2']);
  });

  it('/relations, bundled thread summaries and /threads do not count them', async () => {
    const root = await send(srv(), carol, room, text('root'));
    await send(srv(), carol, room, { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } }, 'm.reaction');
    await send(srv(), bob, room, { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } }, 'm.reaction');
    const inThread = (body: string) => ({ ...text(body), 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    const carolReply = await send(srv(), carol, room, inThread('carol in thread'));
    await send(srv(), bob, room, inThread('bob in thread'));
    // A thread only bob took part in, and one bob started.
    const quiet = await send(srv(), carol, room, text('quiet'));
    await send(srv(), bob, room, { ...text('bob only'), 'm.relates_to': { rel_type: 'm.thread', event_id: quiet } });
    const bobsRoot = await send(srv(), bob, room, text('bob\'s root'));
    await send(srv(), carol, room, { ...text('carol under bob'), 'm.relates_to': { rel_type: 'm.thread', event_id: bobsRoot } });
    await block();

    const relations = await srv().request('GET', `${V1}/rooms/${enc(room)}/relations/${enc(root)}`, { token: alice.access_token });
    assert.equal(relations.status, 200);
    assert.ok(relations.body.chunk.length === 2 && relations.body.chunk.every((e: any) => e.sender === carol.user_id), JSON.stringify(relations.body.chunk));
    const reactions = await srv().request('GET', `${V1}/rooms/${enc(room)}/relations/${enc(root)}/m.annotation/m.reaction`, { token: alice.access_token });
    assert.deepEqual(reactions.body.chunk.map((e: any) => e.sender), [carol.user_id], 'bob\'s reaction does not count');

    const bundled = (await matrix(srv(), alice, 'GET', `/rooms/${enc(room)}/event/${enc(root)}`)).body.unsigned['m.relations']['m.thread'];
    assert.equal(bundled.count, 1);
    assert.equal(bundled.latest_event.event_id, carolReply);
    const forCarol = (await matrix(srv(), carol, 'GET', `/rooms/${enc(room)}/event/${enc(root)}`)).body.unsigned['m.relations']['m.thread'];
    assert.equal(forCarol.count, 2, 'carol counts both');

    const threads = await srv().request('GET', `${V1}/rooms/${enc(room)}/threads`, { token: alice.access_token });
    assert.deepEqual(threads.body.chunk.map((e: any) => e.event_id), [root]);
    assert.equal((await srv().request('GET', `${V1}/rooms/${enc(room)}/relations/${enc(bobsRoot)}`, { token: alice.access_token })).status, 404);

    await unblock();
    const all = await srv().request('GET', `${V1}/rooms/${enc(room)}/relations/${enc(root)}/m.annotation/m.reaction`, { token: alice.access_token });
    assert.equal(all.body.chunk.length, 2);
    assert.equal((await srv().request('GET', `${V1}/rooms/${enc(room)}/threads`, { token: alice.access_token })).body.chunk.length, 3);
  });

  it('/search does not find or count them, nor show them as context', async () => {
    await send(srv(), carol, room, text('pineapple pizza'));
    await send(srv(), bob, room, text('bob on pineapple'));
    await send(srv(), bob, room, text('bob between'));
    await send(srv(), carol, room, text('pineapple again'));
    await block();
    const search = (u: TestUser) => matrix(srv(), u, 'POST', '/search', {
      search_categories: { room_events: { search_term: 'pineapple', order_by: 'recent', event_context: { before_limit: 1, after_limit: 1 } } },
    });
    const found = (await search(alice)).body.search_categories.room_events;
    assert.deepEqual(found.results.map((r: any) => r.result.content.body), ['pineapple again', 'pineapple pizza']);
    assert.equal(found.count, 2);
    assert.deepEqual(bodies(found.results[0].context.events_before), ['pineapple pizza'], 'bob\'s messages skipped in the context');
    assert.equal((await search(carol)).body.search_categories.room_events.count, 3);
    await unblock();
    assert.equal((await search(alice)).body.search_categories.room_events.count, 3);
  });

  it('/notifications and unread counts leave them out while blocked, and show them again after', async () => {
    await send(srv(), bob, room, text(`hey ${alice.user_id}`));
    await send(srv(), carol, room, text('from carol'));
    const notified = async () => (await matrix(srv(), alice, 'GET', '/notifications')).body.notifications
      .filter((n: any) => n.event.type === 'm.room.message').map((n: any) => n.event.content.body);
    const unread = async () => (await matrix(srv(), alice, 'GET', '/sync?timeout=0')).body.rooms.join[room].unread_notifications.notification_count;
    assert.deepEqual(await notified(), ['from carol', `hey ${alice.user_id}`]);
    assert.equal(await unread(), 2);
    await block();
    assert.deepEqual(await notified(), ['from carol']);
    assert.equal(await unread(), 1);
    // Sent while blocked: never a notification, not even after the unblock (spec: missed events are not sent).
    await send(srv(), bob, room, text('while blocked'));
    await unblock();
    assert.deepEqual(await notified(), ['from carol', `hey ${alice.user_id}`]);
    assert.equal(await unread(), 2);
  });
});
