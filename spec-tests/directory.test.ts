/** Aliases, published rooms, /context and forgetting rooms. */
import assert from 'node:assert/strict';
import { describeServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

describeServer('directory, context, forget', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
  });

  it('createRoom with an alias; resolve it, join by it, list and delete it', async () => {
    const created = await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat', room_alias_name: 'lobby', name: 'Lobby' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const roomId = created.body.room_id;
    const again = await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { room_alias_name: 'lobby' } });
    assert.equal(again.status, 400);
    assert.equal(again.body.errcode, 'M_ROOM_IN_USE');
    const resolved = await srv().request('GET', `${C}/directory/room/${enc('#lobby:whisper.test')}`);
    assert.deepEqual(resolved.body, { room_id: roomId, servers: ['whisper.test'] });
    const joined = await srv().request('POST', `${C}/join/${enc('#lobby:whisper.test')}`, { token: bob.access_token, body: {} });
    assert.equal(joined.body.room_id, roomId);
    const canonical = await srv().request('GET', `${C}/rooms/${enc(roomId)}/state/m.room.canonical_alias`, { token: bob.access_token });
    assert.equal(canonical.body.alias, '#lobby:whisper.test');

    const extra = await srv().request('PUT', `${C}/directory/room/${enc('#hangout:whisper.test')}`, { token: bob.access_token, body: { room_id: roomId } });
    assert.equal(extra.status, 200);
    const dup = await srv().request('PUT', `${C}/directory/room/${enc('#hangout:whisper.test')}`, { token: bob.access_token, body: { room_id: roomId } });
    assert.equal(dup.status, 409);
    const foreign = await srv().request('PUT', `${C}/directory/room/${enc('#x:elsewhere.org')}`, { token: bob.access_token, body: { room_id: roomId } });
    assert.equal(foreign.body.errcode, 'M_INVALID_PARAM');
    const list = await srv().request('GET', `${C}/rooms/${enc(roomId)}/aliases`, { token: alice.access_token });
    assert.deepEqual(list.body.aliases, ['#hangout:whisper.test', '#lobby:whisper.test']);
    const badCanonical = await srv().request('PUT', `${C}/rooms/${enc(roomId)}/state/m.room.canonical_alias`, { token: alice.access_token, body: { alias: '#nothere:whisper.test' } });
    assert.equal(badCanonical.body.errcode, 'M_BAD_ALIAS');
    const notCreator = await srv().request('DELETE', `${C}/directory/room/${enc('#lobby:whisper.test')}`, { token: bob.access_token });
    assert.equal(notCreator.status, 403);
    assert.equal((await srv().request('DELETE', `${C}/directory/room/${enc('#hangout:whisper.test')}`, { token: bob.access_token })).status, 200);
    assert.equal((await srv().request('GET', `${C}/directory/room/${enc('#hangout:whisper.test')}`)).status, 404);
  });

  it('published rooms appear in /publicRooms, searchable and paged', async () => {
    for (const name of ['Minecraft', 'Movie night', 'Secret']) {
      const r = await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { name, preset: name === 'Secret' ? 'private_chat' : 'public_chat', visibility: name === 'Secret' ? 'private' : 'public' } });
      assert.equal(r.status, 200);
    }
    const all = await srv().request('GET', `${C}/publicRooms`, { token: bob.access_token });
    const names = all.body.chunk.map((r: { name?: string }) => r.name);
    assert.ok(names.includes('Minecraft') && names.includes('Movie night') && !names.includes('Secret'));
    const search = await srv().request('POST', `${C}/publicRooms`, { token: bob.access_token, body: { filter: { generic_search_term: 'movie' } } });
    assert.deepEqual(search.body.chunk.map((r: { name?: string }) => r.name), ['Movie night']);
    const page = await srv().request('POST', `${C}/publicRooms`, { token: bob.access_token, body: { limit: 1 } });
    assert.equal(page.body.chunk.length, 1);
    const next = await srv().request('POST', `${C}/publicRooms`, { token: bob.access_token, body: { limit: 1, since: page.body.next_batch } });
    assert.notEqual(next.body.chunk[0].room_id, page.body.chunk[0].room_id);

    const secret = all.body.chunk[0].room_id;
    const vis = await srv().request('GET', `${C}/directory/list/room/${enc(secret)}`);
    assert.equal(vis.body.visibility, 'public');
    const hide = await srv().request('PUT', `${C}/directory/list/room/${enc(secret)}`, { token: bob.access_token, body: { visibility: 'private' } });
    assert.equal(hide.status, 403, 'only moderators publish or hide');
  });

  it('/context returns the event, its neighbours and the state then', async () => {
    const roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: {} })).body.room_id;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await srv().request('PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/c${i}`, { token: alice.access_token, body: { msgtype: 'm.text', body: `c${i}` } })).body.event_id);
    const ctx = await srv().request('GET', `${C}/rooms/${enc(roomId)}/context/${enc(ids[3])}?limit=4`, { token: alice.access_token });
    assert.equal(ctx.status, 200, JSON.stringify(ctx.body));
    assert.equal(ctx.body.event.event_id, ids[3]);
    assert.deepEqual(ctx.body.events_before.map((e: { event_id: string }) => e.event_id), [ids[2], ids[1]]);
    assert.deepEqual(ctx.body.events_after.map((e: { event_id: string }) => e.event_id), [ids[4], ids[5]]);
    assert.ok(ctx.body.state.some((e: { type: string }) => e.type === 'm.room.create'));
    const back = await srv().request('GET', `${C}/rooms/${enc(roomId)}/messages?dir=b&limit=1&from=${ctx.body.start}`, { token: alice.access_token });
    assert.equal(back.body.chunk[0].event_id, ids[0]);
  });

  it('forget: only after leaving; the room leaves sync and its history closes', async () => {
    const roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { invite: [bob.user_id] } })).body.room_id;
    await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
    const early = await srv().request('POST', `${C}/rooms/${enc(roomId)}/forget`, { token: bob.access_token, body: {} });
    assert.equal(early.status, 400);
    await srv().request('POST', `${C}/rooms/${enc(roomId)}/leave`, { token: bob.access_token, body: {} });
    const withLeave = encodeURIComponent(JSON.stringify({ room: { include_leave: true } }));
    const before = await srv().request('GET', `${C}/sync?filter=${withLeave}`, { token: bob.access_token });
    assert.ok(before.body.rooms.leave[roomId], 'left room listed');
    assert.equal((await srv().request('POST', `${C}/rooms/${enc(roomId)}/forget`, { token: bob.access_token, body: {} })).status, 200);
    const after = await srv().request('GET', `${C}/sync?filter=${withLeave}`, { token: bob.access_token });
    assert.equal(after.body.rooms.leave[roomId], undefined, 'forgotten room gone from sync');
    const history = await srv().request('GET', `${C}/rooms/${enc(roomId)}/messages`, { token: bob.access_token });
    assert.equal(history.status, 403);
  });
});
