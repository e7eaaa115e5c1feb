/** Membership edge cases over HTTP: knocking, bans, history visibility at each membership. */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;
let n = 0;

async function say(srv: TestServer, user: TestUser, roomId: string, body: string): Promise<string> {
  const res = await srv.request('PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/m${++n}`, { token: user.access_token, body: { msgtype: 'm.text', body } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

async function bodiesSeen(srv: TestServer, user: TestUser, roomId: string): Promise<string[] | number> {
  const res = await srv.request('GET', `${C}/rooms/${enc(roomId)}/messages?dir=f&limit=100`, { token: user.access_token });
  if (res.status !== 200) return res.status;
  return res.body.chunk.filter((e: { type: string }) => e.type === 'm.room.message').map((e: { content: { body: string } }) => e.content.body);
}

describeServer('membership and history visibility', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
  });

  it('knock on a knock room, appear in the knock section, get invited in', async () => {
    const roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] } })).body.room_id;
    const direct = await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
    assert.equal(direct.status, 403, 'cannot just join');
    const knock = await srv().request('POST', `${C}/knock/${enc(roomId)}`, { token: bob.access_token, body: { reason: 'let me in' } });
    assert.equal(knock.status, 200, JSON.stringify(knock.body));
    const sync = await srv().request('GET', `${C}/sync`, { token: bob.access_token });
    assert.ok(sync.body.rooms.knock[roomId], 'knock section');
    await srv().request('POST', `${C}/rooms/${enc(roomId)}/invite`, { token: alice.access_token, body: { user_id: bob.user_id } });
    assert.equal((await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} })).status, 200);
  });

  it('a new display name or avatar reaches every room the user is in, as a member event', async () => {
    const room1 = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat' } })).body.room_id;
    const room2 = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat' } })).body.room_id;
    await srv().request('POST', `${C}/join/${enc(room1)}`, { token: bob.access_token, body: {} });
    const before = await srv().request('GET', `${C}/sync`, { token: alice.access_token });
    assert.equal((await srv().request('PUT', `${C}/profile/${enc(bob.user_id)}/displayname`, { token: bob.access_token, body: { displayname: 'Bobby' } })).status, 200);
    await srv().request('PUT', `${C}/profile/${enc(bob.user_id)}/avatar_url`, { token: bob.access_token, body: { avatar_url: 'mxc://whisper.test/abc' } });
    const member = await srv().request('GET', `${C}/rooms/${enc(room1)}/state/m.room.member/${enc(bob.user_id)}`, { token: alice.access_token });
    assert.deepEqual(member.body, { membership: 'join', displayname: 'Bobby', avatar_url: 'mxc://whisper.test/abc' });
    const after = await srv().request('GET', `${C}/sync?since=${enc(before.body.next_batch)}`, { token: alice.access_token });
    const seen = after.body.rooms.join[room1].timeline.events.filter((e: { type: string; state_key: string }) => e.type === 'm.room.member' && e.state_key === bob.user_id);
    assert.equal(seen.at(-1).content.displayname, 'Bobby');
    assert.equal(after.body.rooms.join[room2], undefined, 'rooms bob is not in are untouched');
    // Setting the same name again writes nothing new.
    await srv().request('PUT', `${C}/profile/${enc(bob.user_id)}/displayname`, { token: bob.access_token, body: { displayname: 'Bobby' } });
    const again = await srv().request('GET', `${C}/sync?since=${enc(after.body.next_batch)}`, { token: alice.access_token });
    assert.equal(again.body.rooms.join[room1], undefined);
  });

  it('a banned user cannot rejoin until unbanned', async () => {
    const roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat' } })).body.room_id;
    await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
    assert.equal((await srv().request('POST', `${C}/rooms/${enc(roomId)}/ban`, { token: alice.access_token, body: { user_id: bob.user_id, reason: 'spam' } })).status, 200);
    assert.equal((await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} })).status, 403);
    assert.equal((await srv().request('POST', `${C}/rooms/${enc(roomId)}/unban`, { token: alice.access_token, body: { user_id: bob.user_id } })).status, 200);
    assert.equal((await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} })).status, 200);
  });

  it('shared history: a newcomer reads what came before; after leaving, nothing later', async () => {
    const roomId = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat' } })).body.room_id;
    await say(srv(), alice, roomId, 'before bob');
    await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
    await say(srv(), alice, roomId, 'with bob');
    assert.deepEqual(await bodiesSeen(srv(), bob, roomId), ['before bob', 'with bob']);
    await srv().request('POST', `${C}/rooms/${enc(roomId)}/leave`, { token: bob.access_token, body: {} });
    await say(srv(), alice, roomId, 'after bob left');
    assert.deepEqual(await bodiesSeen(srv(), bob, roomId), ['with bob'], 'after leaving: what he was there for, nothing later');
    const event = await srv().request('GET', `${C}/rooms/${enc(roomId)}/state`, { token: bob.access_token });
    assert.equal(event.status, 200, 'state up to the leave stays readable');
  });

  it('joined-only history: a newcomer does not see what came before joining', async () => {
    const roomId = (await srv().request('POST', `${C}/createRoom`, {
      token: alice.access_token, body: { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] },
    })).body.room_id;
    const secret = await say(srv(), alice, roomId, 'before bob');
    await srv().request('POST', `${C}/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
    await say(srv(), alice, roomId, 'with bob');
    assert.deepEqual(await bodiesSeen(srv(), bob, roomId), ['with bob']);
    const direct = await srv().request('GET', `${C}/rooms/${enc(roomId)}/event/${enc(secret)}`, { token: bob.access_token });
    assert.equal(direct.status, 404);
    const sync = await srv().request('GET', `${C}/sync`, { token: bob.access_token });
    const seen = sync.body.rooms.join[roomId].timeline.events.map((e: { content: { body?: string } }) => e.content.body);
    assert.ok(!seen.includes('before bob'));
  });
});
