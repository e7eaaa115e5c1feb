/** Edits, replies, reactions, threads: validation, /relations, /threads and bundled aggregations. */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const V1 = '/_matrix/client/v1';
const enc = encodeURIComponent;
let txn = 0;

async function send(srv: TestServer, user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message') {
  return srv.request('PUT', `${C}/rooms/${enc(roomId)}/send/${type}/r${++txn}`, { token: user.access_token, body: content });
}

describeServer('relations', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { invite: [bob.user_id] } })).body.room_id;
    await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
  });

  it('edits: only the sender may edit; the newest edit is bundled', async () => {
    const original = (await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'helo' })).body.event_id;
    const edit = (content: string) => ({
      msgtype: 'm.text', body: `* ${content}`, 'm.new_content': { msgtype: 'm.text', body: content }, 'm.relates_to': { rel_type: 'm.replace', event_id: original },
    });
    assert.equal((await send(srv(), alice, roomId, edit('hello'))).status, 200);
    const second = (await send(srv(), alice, roomId, edit('hello!'))).body.event_id;
    const byBob = await send(srv(), bob, roomId, edit('hacked'));
    assert.equal(byBob.status, 403);
    const ev = await srv().request('GET', `${C}/rooms/${enc(roomId)}/event/${enc(original)}`, { token: bob.access_token });
    assert.equal(ev.body.unsigned['m.relations']['m.replace'].event_id, second);
    const rel = await srv().request('GET', `${V1}/rooms/${enc(roomId)}/relations/${enc(original)}/m.replace`, { token: bob.access_token });
    assert.equal(rel.body.chunk.length, 2);
    assert.equal(rel.body.chunk[0].event_id, second, 'newest first');
  });

  it('reactions: one per user and key', async () => {
    const target = (await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'react to me' })).body.event_id;
    const react = (key: string) => ({ 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });
    assert.equal((await send(srv(), bob, roomId, react('👍'), 'm.reaction')).status, 200);
    const dup = await send(srv(), bob, roomId, react('👍'), 'm.reaction');
    assert.equal(dup.status, 400);
    assert.equal(dup.body.errcode, 'M_DUPLICATE_ANNOTATION');
    assert.equal((await send(srv(), bob, roomId, react('🎉'), 'm.reaction')).status, 200);
    assert.equal((await send(srv(), alice, roomId, react('👍'), 'm.reaction')).status, 200);
    const all = await srv().request('GET', `${V1}/rooms/${enc(roomId)}/relations/${enc(target)}/m.annotation/m.reaction`, { token: alice.access_token });
    assert.equal(all.body.chunk.length, 3);
    const page = await srv().request('GET', `${V1}/rooms/${enc(roomId)}/relations/${enc(target)}?limit=2`, { token: alice.access_token });
    assert.equal(page.body.chunk.length, 2);
    const rest = await srv().request('GET', `${V1}/rooms/${enc(roomId)}/relations/${enc(target)}?limit=2&from=${page.body.next_batch}`, { token: alice.access_token });
    assert.equal(rest.body.chunk.length, 1);
    // Redacting a reaction frees its key again.
    const mine = all.body.chunk.find((e: { sender: string; content: { 'm.relates_to': { key: string } } }) => e.sender === bob.user_id && e.content['m.relates_to'].key === '👍');
    await srv().request('PUT', `${C}/rooms/${enc(roomId)}/redact/${enc(mine.event_id)}/undo1`, { token: bob.access_token, body: {} });
    assert.equal((await send(srv(), bob, roomId, react('👍'), 'm.reaction')).status, 200);
  });

  it('threads: replies are bundled on the root and listed by /threads', async () => {
    const root = (await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'thread root' })).body.event_id;
    const reply = (body: string) => ({ msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: root } } });
    await send(srv(), bob, roomId, reply('first'));
    const last = (await send(srv(), alice, roomId, reply('second'))).body.event_id;
    const ev = await srv().request('GET', `${C}/rooms/${enc(roomId)}/event/${enc(root)}`, { token: bob.access_token });
    const summary = ev.body.unsigned['m.relations']['m.thread'];
    assert.equal(summary.count, 2);
    assert.equal(summary.latest_event.event_id, last);
    assert.equal(summary.current_user_participated, true);
    const threads = await srv().request('GET', `${V1}/rooms/${enc(roomId)}/threads`, { token: bob.access_token });
    assert.equal(threads.body.chunk[0].event_id, root);
    const nested = await send(srv(), bob, roomId, { msgtype: 'm.text', body: 'x', 'm.relates_to': { rel_type: 'm.thread', event_id: last } });
    assert.equal(nested.status, 400);
  });

  it('replies and relations to unknown events', async () => {
    const unknown = await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'x', 'm.relates_to': { rel_type: 'm.annotation', event_id: '$nope', key: 'k' } }, 'm.reaction');
    assert.equal(unknown.status, 400);
    const target = (await send(srv(), alice, roomId, { msgtype: 'm.text', body: 'question?' })).body.event_id;
    const answer = await send(srv(), bob, roomId, { msgtype: 'm.text', body: 'answer', 'm.relates_to': { 'm.in_reply_to': { event_id: target } } });
    assert.equal(answer.status, 200, 'a plain reply is an ordinary message');
    const rel = await srv().request('GET', `${V1}/rooms/${enc(roomId)}/relations/${enc('$nope')}`, { token: alice.access_token });
    assert.equal(rel.status, 404);
  });
});
