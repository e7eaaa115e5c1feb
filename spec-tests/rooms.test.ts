import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';

async function createRoom(srv: TestServer, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await srv.request('POST', `${C}/createRoom`, { token: user.access_token, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

async function send(srv: TestServer, user: TestUser, roomId: string, body: string, txn = `t${Math.random()}`) {
  const res = await srv.request('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, {
    token: user.access_token, body: { msgtype: 'm.text', body },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

describeServer('rooms and sync', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
  });

  it('creates a room with the preset state, and the creator sees it in an initial sync', async () => {
    const roomId = await createRoom(srv(), alice, { name: 'Friends', topic: 'hi', preset: 'private_chat' });
    assert.match(roomId, /^!.+:whisper\.test$/);
    const sync = await srv().request('GET', `${C}/sync`, { token: alice.access_token });
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const room = sync.body.rooms.join[roomId];
    assert.ok(room, 'room in sync');
    const types = [...room.state.events, ...room.timeline.events].map((e: { type: string }) => e.type);
    for (const t of ['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.name', 'm.room.topic']) {
      assert.ok(types.includes(t), `has ${t}`);
    }
    const create = [...room.state.events, ...room.timeline.events].find((e: { type: string }) => e.type === 'm.room.create');
    assert.equal(create.content.room_version, '11');
    assert.match(create.event_id, /^\$[A-Za-z0-9_-]{43}$/);
    const joined = await srv().request('GET', `${C}/joined_rooms`, { token: alice.access_token });
    assert.ok(joined.body.joined_rooms.includes(roomId));
  });

  it('sends messages idempotently per transaction id and reads them back', async () => {
    const roomId = await createRoom(srv(), alice);
    const a = await send(srv(), alice, roomId, 'hello', 'txn1');
    const again = await send(srv(), alice, roomId, 'hello', 'txn1');
    assert.equal(a, again);
    const ev = await srv().request('GET', `${C}/rooms/${roomId}/event/${encodeURIComponent(a)}`, { token: alice.access_token });
    assert.equal(ev.body.content.body, 'hello');
    assert.equal(ev.body.unsigned.transaction_id, 'txn1');
    const msgs = await srv().request('GET', `${C}/rooms/${roomId}/messages?dir=b&limit=5`, { token: alice.access_token });
    assert.equal(msgs.status, 200, JSON.stringify(msgs.body));
    assert.equal(msgs.body.chunk.filter((e: { type: string }) => e.type === 'm.room.message').length, 1);
  });

  it('invite, join, and a long-poll that wakes on a new message', async () => {
    const roomId = await createRoom(srv(), alice);
    const inv = await srv().request('POST', `${C}/rooms/${roomId}/invite`, { token: alice.access_token, body: { user_id: bob.user_id } });
    assert.equal(inv.status, 200, JSON.stringify(inv.body));
    const first = await srv().request('GET', `${C}/sync`, { token: bob.access_token });
    assert.ok(first.body.rooms.invite[roomId], 'invite shows');
    const join = await srv().request('POST', `${C}/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    assert.equal(join.status, 200, JSON.stringify(join.body));
    const second = await srv().request('GET', `${C}/sync?since=${first.body.next_batch}`, { token: bob.access_token });
    assert.ok(second.body.rooms.join[roomId], 'joined room shows');
    const poll = srv().request('GET', `${C}/sync?since=${second.body.next_batch}&timeout=10000`, { token: bob.access_token });
    await new Promise((r) => setTimeout(r, 200));
    const eventId = await send(srv(), alice, roomId, 'wake up');
    const woken = await poll;
    const events = woken.body.rooms.join[roomId].timeline.events;
    assert.deepEqual(events.map((e: { event_id: string }) => e.event_id), [eventId]);
  });

  it('pages history backwards and forwards with stable tokens', async () => {
    const roomId = await createRoom(srv(), alice);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await send(srv(), alice, roomId, `m${i}`));
    const filter = encodeURIComponent(JSON.stringify({ types: ['m.room.message'] }));
    const page1 = await srv().request('GET', `${C}/rooms/${roomId}/messages?dir=b&limit=5&filter=${filter}`, { token: alice.access_token });
    assert.deepEqual(page1.body.chunk.map((e: { event_id: string }) => e.event_id), ids.slice(7).reverse());
    const page2 = await srv().request('GET', `${C}/rooms/${roomId}/messages?dir=b&limit=5&from=${page1.body.end}&filter=${filter}`, { token: alice.access_token });
    assert.deepEqual(page2.body.chunk.map((e: { event_id: string }) => e.event_id), ids.slice(2, 7).reverse());
    const fwd = await srv().request('GET', `${C}/rooms/${roomId}/messages?dir=f&limit=3&from=${page2.body.end}&filter=${filter}`, { token: alice.access_token });
    assert.deepEqual(fwd.body.chunk.map((e: { event_id: string }) => e.event_id), ids.slice(2, 5));
  });

  it('a limited incremental sync says so and gives a prev_batch that pages the gap', async () => {
    const roomId = await createRoom(srv(), alice);
    const base = await srv().request('GET', `${C}/sync`, { token: alice.access_token });
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) ids.push(await send(srv(), alice, roomId, `burst${i}`));
    const inc = await srv().request('GET', `${C}/sync?since=${base.body.next_batch}&filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 5 } } }))}`, { token: alice.access_token });
    const tl = inc.body.rooms.join[roomId].timeline;
    assert.equal(tl.limited, true);
    assert.deepEqual(tl.events.map((e: { event_id: string }) => e.event_id), ids.slice(10));
    const gap = await srv().request('GET', `${C}/rooms/${roomId}/messages?dir=b&limit=10&from=${tl.prev_batch}`, { token: alice.access_token });
    assert.deepEqual(gap.body.chunk.map((e: { event_id: string }) => e.event_id), ids.slice(0, 10).reverse());
  });

  it('state: put, get, and power levels enforced', async () => {
    const roomId = await createRoom(srv(), alice, { invite: [bob.user_id] });
    await srv().request('POST', `${C}/join/${roomId}`, { token: bob.access_token, body: {} });
    const put = await srv().request('PUT', `${C}/rooms/${roomId}/state/m.room.topic`, { token: alice.access_token, body: { topic: 'new topic' } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const get = await srv().request('GET', `${C}/rooms/${roomId}/state/m.room.topic/`, { token: bob.access_token });
    assert.deepEqual(get.body, { topic: 'new topic' });
    const denied = await srv().request('PUT', `${C}/rooms/${roomId}/state/m.room.topic`, { token: bob.access_token, body: { topic: 'bob was here' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.errcode, 'M_FORBIDDEN');
    const kick = await srv().request('POST', `${C}/rooms/${roomId}/kick`, { token: bob.access_token, body: { user_id: alice.user_id } });
    assert.equal(kick.status, 403);
  });

  it('redaction removes content for everyone', async () => {
    const roomId = await createRoom(srv(), alice);
    const id = await send(srv(), alice, roomId, 'oops');
    const red = await srv().request('PUT', `${C}/rooms/${roomId}/redact/${encodeURIComponent(id)}/r1`, { token: alice.access_token, body: { reason: 'typo' } });
    assert.equal(red.status, 200, JSON.stringify(red.body));
    const ev = await srv().request('GET', `${C}/rooms/${roomId}/event/${encodeURIComponent(id)}`, { token: alice.access_token });
    assert.deepEqual(ev.body.content, {});
    assert.equal(ev.body.unsigned.redacted_because.event_id, red.body.event_id);
  });

  it('non-members cannot read or send', async () => {
    const roomId = await createRoom(srv(), alice);
    const read = await srv().request('GET', `${C}/rooms/${roomId}/messages`, { token: bob.access_token });
    assert.equal(read.status, 403);
    const sendRes = await srv().request('PUT', `${C}/rooms/${roomId}/send/m.room.message/x1`, { token: bob.access_token, body: { body: 'hi' } });
    assert.equal(sendRes.status, 403);
    const unknown = await srv().request('GET', `${C}/rooms/!nope:whisper.test/messages`, { token: bob.access_token });
    assert.equal(unknown.status, 404);
  });
});
