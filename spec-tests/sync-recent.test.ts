/**
 * Incremental syncs answered from what the process heard (HeardEvents, RecentEventRows)
 * instead of queries: what a later event changed of an earlier one in the same window — a
 * redaction, an edit — shows as a fresh read would show it, and filters and blocks apply.
 */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;
let txn = 0;

async function send(srv: TestServer, user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  const res = await srv.request('PUT', `${C}/rooms/${enc(roomId)}/send/${type}/s${++txn}`, { token: user.access_token, body: content });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

async function timeline(srv: TestServer, user: TestUser, roomId: string, since: string, filter: Record<string, unknown> = {}) {
  const q = `filter=${enc(JSON.stringify({ room: { timeline: { limit: 20, ...filter } } }))}&since=${enc(since)}`;
  const res = await srv.request('GET', `${C}/sync?${q}`, { token: user.access_token });
  assert.equal(res.status, 200);
  return { events: (res.body.rooms.join[roomId]?.timeline.events ?? []) as Array<Record<string, any>>, next: res.body.next_batch as string };
}

describeServer('sync from recent events', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let since: string;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat' } })).body.room_id;
    await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
  });

  beforeEach(async () => {
    since = (await srv().request('GET', `${C}/sync?timeout=0`, { token: bob.access_token })).body.next_batch;
  });

  it('a message redacted later in the window comes redacted', async () => {
    const secret = await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'oops, a password' });
    // Bob's sync reads the message once (its row is now kept), before the redaction.
    assert.equal((await timeline(srv(), bob, roomId, since)).events.find((e) => e.event_id === secret)?.content.body, 'oops, a password');
    const redaction = (await srv().request('PUT', `${C}/rooms/${enc(roomId)}/redact/${enc(secret)}/r${++txn}`, { token: alice.access_token, body: {} })).body.event_id;
    const { events } = await timeline(srv(), bob, roomId, since);
    const shown = events.find((e) => e.event_id === secret)!;
    assert.deepEqual(shown.content, {}, 'no trace of the content');
    assert.equal(shown.unsigned.redacted_because.event_id, redaction);
  });

  it('a message edited later in the window comes with its edit bundled', async () => {
    const original = await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'helo' });
    await timeline(srv(), bob, roomId, since);
    const edit = await send(srv(), alice, roomId, {
      msgtype: 'm.text', body: '* hello', 'm.new_content': { msgtype: 'm.text', body: 'hello' }, 'm.relates_to': { rel_type: 'm.replace', event_id: original },
    });
    const { events } = await timeline(srv(), bob, roomId, since);
    assert.equal(events.find((e) => e.event_id === original)!.unsigned['m.relations']?.['m.replace']?.event_id, edit);
  });

  it('filters by type and sender, newest kept when limited', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await send(srv(), i % 2 ? bob : alice, roomId, { msgtype: 'm.text', body: `m${i}` }));
    await send(srv(), alice, roomId, { body: 'a custom event' }, 'org.example.custom');
    const onlyAlice = await timeline(srv(), bob, roomId, since, { senders: [alice.user_id], types: ['m.room.message'] });
    assert.deepEqual(onlyAlice.events.map((e) => e.event_id), [ids[0], ids[2]]);
    const notMessages = await timeline(srv(), bob, roomId, since, { not_types: ['m.room.message'] });
    assert.deepEqual(notMessages.events.map((e) => e.type), ['org.example.custom']);
    const res = await srv().request('GET', `${C}/sync?filter=${enc(JSON.stringify({ room: { timeline: { limit: 2 } } }))}&since=${enc(since)}`, { token: bob.access_token });
    const section = res.body.rooms.join[roomId].timeline;
    assert.equal(section.limited, true);
    assert.deepEqual(section.events.map((e: { event_id: string }) => e.event_id), [ids[3], section.events[1].event_id]);
    assert.equal(section.events[1].type, 'org.example.custom');
  });

  it('keeps unread counts right through messages, mentions, thread replies, receipts and a block', async () => {
    const carol = await srv().register('carol');
    const room = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat', name: 'counts' } })).body.room_id;
    for (const u of [bob, carol]) await srv().request('POST', `${C}/join/${enc(room)}`, { token: u.access_token, body: {} });
    const filter = enc(JSON.stringify({ room: { timeline: { limit: 1, unread_thread_notifications: true } } }));
    const counts = async () => {
      const section = (await srv().request('GET', `${C}/sync?filter=${filter}`, { token: bob.access_token })).body.rooms.join[room];
      const threads = Object.fromEntries(Object.entries(section.unread_thread_notifications ?? {}).map(([id, c]: [string, any]) => [id, [c.notification_count, c.highlight_count]]));
      return { main: [section.unread_notifications.notification_count, section.unread_notifications.highlight_count], threads };
    };
    const root = await send(srv(), alice, room, { msgtype: 'm.text', body: 'one' });
    assert.deepEqual(await counts(), { main: [1, 0], threads: {} });
    await send(srv(), carol, room, { msgtype: 'm.text', body: 'hey bob', 'm.mentions': { user_ids: [bob.user_id] } });
    await send(srv(), bob, room, { msgtype: 'm.text', body: 'my own' });
    assert.deepEqual(await counts(), { main: [2, 1], threads: {} }, 'a mention highlights; one\'s own message does not count');
    await send(srv(), alice, room, { msgtype: 'm.text', body: 'in thread', 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    assert.deepEqual(await counts(), { main: [2, 1], threads: { [root]: [1, 0] } });
    const last = await send(srv(), carol, room, { msgtype: 'm.text', body: 'three' });
    await srv().request('POST', `${C}/rooms/${enc(room)}/receipt/m.read/${enc(last)}`, { token: bob.access_token, body: { thread_id: 'main' } });
    assert.deepEqual(await counts(), { main: [0, 0], threads: { [root]: [1, 0] } }, 'the main receipt clears the main timeline only');
    await srv().request('PUT', `/_whisper/client/v1/blocks/${enc(carol.user_id)}`, { token: bob.access_token, body: {} });
    await send(srv(), carol, room, { msgtype: 'm.text', body: 'blocked' });
    await send(srv(), alice, room, { msgtype: 'm.text', body: 'four' });
    assert.deepEqual(await counts(), { main: [1, 0], threads: { [root]: [1, 0] } }, 'the blocked sender does not count');
    await srv().request('DELETE', `/_whisper/client/v1/blocks/${enc(carol.user_id)}`, { token: bob.access_token });
  });

  it('leaves out a blocked sender\'s messages, and brings them back after the unblock', async () => {
    const blockUrl = `/_whisper/client/v1/blocks/${enc(alice.user_id)}`;
    assert.equal((await srv().request('PUT', blockUrl, { token: bob.access_token, body: {} })).status, 200);
    const fresh = (await srv().request('GET', `${C}/sync?timeout=0`, { token: bob.access_token })).body.next_batch;
    const hidden = await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'you blocked me' });
    const mine = await send(srv(), bob, roomId, { msgtype: 'm.text', body: 'quiet in here' });
    assert.deepEqual((await timeline(srv(), bob, roomId, fresh)).events.map((e) => e.event_id), [mine]);
    assert.equal((await srv().request('DELETE', blockUrl, { token: bob.access_token })).status, 200);
    assert.deepEqual((await timeline(srv(), bob, roomId, fresh)).events.filter((e) => e.type === 'm.room.message').map((e) => e.event_id), [hidden, mine]);
  });
});
