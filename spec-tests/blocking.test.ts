/**
 * Blocking and privacy, rule by rule: the block list and m.ignored_user_list kept in step
 * both ways; a blocked user cannot invite, DM or (visibly) friend-request the blocker, nor see
 * their presence; their messages leave the blocker's sync and unread counts; a block ends the
 * friendship and requests both ways. Privacy: DMs from friends only by default, group
 * invites governed by their own setting.
 */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';
import { befriend, enc, friendsData, matrix, ok, sync, whisper } from './friendsHelpers.ts';

async function ignoreList(srv: TestServer, u: TestUser): Promise<string[]> {
  const res = await matrix(srv, u, 'GET', `/user/${enc(u.user_id)}/account_data/m.ignored_user_list`);
  return res.status === 200 ? Object.keys(res.body.ignored_users).sort() : [];
}

/** A group room of `owner` that the others joined. */
async function group(srv: TestServer, owner: TestUser, others: TestUser[]): Promise<string> {
  const room = await matrix(srv, owner, 'POST', '/createRoom', { name: 'group', invite: others.map((o) => o.user_id) });
  assert.equal(room.status, 200, JSON.stringify(room.body));
  for (const o of others) assert.equal((await matrix(srv, o, 'POST', `/join/${enc(room.body.room_id)}`)).status, 200);
  return room.body.room_id;
}

const blockedIds = async (srv: TestServer, u: TestUser) => (await ok(srv, u, 'GET', '/blocks')).blocked.map((b: any) => b.user_id).sort();

describeServer('blocking', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  beforeEach(async () => {
    alice = await srv().register();
    bob = await srv().register();
    carol = await srv().register();
  });

  it('block, list and unblock; the ignore list follows', async () => {
    await matrix(srv(), bob, 'PUT', `/profile/${enc(bob.user_id)}/displayname`, { displayname: 'Bobby' });
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    const list = await ok(srv(), alice, 'GET', '/blocks');
    assert.equal(list.blocked.length, 1);
    assert.equal(list.blocked[0].user_id, bob.user_id);
    assert.equal(list.blocked[0].displayname, 'Bobby');
    assert.equal(typeof list.blocked[0].since, 'number');
    assert.deepEqual(await ignoreList(srv(), alice), [bob.user_id]);
    assert.deepEqual(friendsData(await sync(srv(), alice)).blocked, [bob.user_id]);
    // Blocking twice is harmless; blocking yourself or nobody is not.
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    assert.equal((await whisper(srv(), alice, 'PUT', `/blocks/${enc(alice.user_id)}`)).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await whisper(srv(), alice, 'PUT', `/blocks/${enc('@nobody:whisper.test')}`)).status, 404);

    await ok(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);
    assert.deepEqual(await blockedIds(srv(), alice), []);
    assert.deepEqual(await ignoreList(srv(), alice), []);
    const again = await whisper(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.errcode, 'M_NOT_FOUND');
  });

  it('ignoring from a Matrix client (m.ignored_user_list) blocks, and un-ignoring unblocks', async () => {
    const put = (users: string[]) => matrix(srv(), alice, 'PUT', `/user/${enc(alice.user_id)}/account_data/m.ignored_user_list`, {
      ignored_users: Object.fromEntries(users.map((u) => [u, {}])),
    });
    assert.equal((await put([bob.user_id, carol.user_id, '@ghost:whisper.test', '@x:elsewhere.example'])).status, 200);
    assert.deepEqual(await blockedIds(srv(), alice), [bob.user_id, carol.user_id].sort());
    assert.equal((await matrix(srv(), bob, 'POST', '/createRoom', { invite: [alice.user_id] })).status, 403, 'the block is enforced');
    assert.equal((await put([carol.user_id])).status, 200);
    assert.deepEqual(await blockedIds(srv(), alice), [carol.user_id]);
    // The client's own entries stay as it wrote them.
    assert.deepEqual(await ignoreList(srv(), alice), [carol.user_id]);
  });

  it('a blocked user cannot invite the blocker, to a group or a DM', async () => {
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    const room = await group(srv(), bob, [carol]);
    const invite = await matrix(srv(), bob, 'POST', `/rooms/${enc(room)}/invite`, { user_id: alice.user_id });
    assert.equal(invite.status, 403);
    assert.equal(invite.body.errcode, 'M_FORBIDDEN');
    assert.doesNotMatch(invite.body.error, /block/i, 'the message does not reveal the block');
    const dm = await matrix(srv(), bob, 'POST', '/createRoom', { is_direct: true, invite: [alice.user_id], preset: 'trusted_private_chat' });
    assert.equal(dm.status, 403);
    assert.equal(dm.body.errcode, 'M_FORBIDDEN');
    // Others still can.
    assert.equal((await matrix(srv(), carol, 'POST', `/rooms/${enc(room)}/invite`, { user_id: alice.user_id })).status, 200);
  });

  it('a friend request from a blocked user looks sent but never arrives', async () => {
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    const aliceStart = (await sync(srv(), alice)).next_batch;
    const sent = await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    assert.equal(sent.state, 'pending');
    assert.equal(sent.user_id, alice.user_id);
    assert.match(sent.room_id, /^!/);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing.map((r: any) => r.user_id), [alice.user_id]);
    const dup = await whisper(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    assert.equal(dup.body.errcode, 'M_INVALID_PARAM', 'a second one is a duplicate, as for anyone');

    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).incoming, []);
    assert.deepEqual((await ok(srv(), alice, 'GET', '/notifications')).notifications, []);
    const later = await sync(srv(), alice, aliceStart);
    assert.deepEqual(Object.keys(later.rooms.invite), []);
    assert.equal((await whisper(srv(), alice, 'POST', `/friends/requests/${enc(bob.user_id)}/accept`)).status, 404);
    // The blocker cannot request the blocked either, until they unblock.
    const back = await whisper(srv(), alice, 'POST', '/friends/requests', { user_id: bob.user_id });
    assert.equal(back.body.errcode, 'M_INVALID_PARAM');
    assert.match(back.body.error, /unblock/);
    // Bob may cancel it like any other.
    await ok(srv(), bob, 'DELETE', `/friends/requests/${enc(alice.user_id)}`);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing, []);
    // One sent while blocked lapses at the unblock instead of arriving late.
    await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    await ok(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing, []);
    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).incoming, []);
    assert.equal((await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id })).state, 'pending');
    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).incoming.map((r: any) => r.user_id), [bob.user_id], 'now it arrives');
  });

  it('blocking ends the friendship and pending requests both ways', async () => {
    const dm = await befriend(srv(), alice, bob);
    await ok(srv(), carol, 'POST', '/friends/requests', { user_id: alice.user_id });
    const mine = await ok(srv(), alice, 'POST', '/friends/requests', { user_id: carol.user_id });
    assert.equal(mine.state, 'accepted', 'a mutual request');
    const dave = await srv().register();
    const theirs = await ok(srv(), dave, 'POST', '/friends/requests', { user_id: alice.user_id });
    const outgoing = await ok(srv(), alice, 'POST', '/friends/requests', { user_id: (await srv().register()).user_id });

    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).friends.map((f: any) => f.user_id), [carol.user_id]);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).friends, []);
    assert.deepEqual(friendsData(await sync(srv(), bob)).friends, []);
    // The DM stays; the block governs it.
    assert.equal((await matrix(srv(), alice, 'GET', `/rooms/${enc(dm)}/state/m.room.member/${enc(bob.user_id)}`)).body.membership, 'join');

    await ok(srv(), alice, 'PUT', `/blocks/${enc(dave.user_id)}`);
    const target = outgoing.user_id as string;
    await ok(srv(), alice, 'PUT', `/blocks/${enc(target)}`);
    const after = await ok(srv(), alice, 'GET', '/friends');
    assert.deepEqual(after.incoming, []);
    assert.deepEqual(after.outgoing, []);
    assert.deepEqual((await ok(srv(), dave, 'GET', '/friends')).outgoing, []);
    // Their invite was rejected, and hers rescinded.
    assert.equal((await matrix(srv(), dave, 'GET', `/rooms/${enc(theirs.room_id)}/state/m.room.member/${enc(alice.user_id)}`)).body.membership, 'leave');
    assert.equal((await matrix(srv(), alice, 'GET', `/rooms/${enc(outgoing.room_id)}/state/m.room.member/${enc(target)}`)).body.membership, 'leave');
  });

  it('the blocker\'s presence is hidden from the blocked', async () => {
    await group(srv(), alice, [bob, carol]);
    // Alice comes online by syncing.
    await matrix(srv(), alice, 'GET', '/sync?timeout=0');
    const status = (u: TestUser) => matrix(srv(), u, 'GET', `/presence/${enc(alice.user_id)}/status`);
    assert.equal((await status(bob)).body.presence, 'online');
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    assert.equal((await status(bob)).body.presence, 'offline');
    assert.equal((await status(carol)).body.presence, 'online');
    const presenceIn = (body: any) => body.presence.events.filter((e: any) => e.sender === alice.user_id);
    assert.deepEqual(presenceIn(await sync(srv(), bob)), [], 'bob\'s sync omits alice');
    assert.equal(presenceIn(await sync(srv(), carol)).length, 1, 'carol\'s has her');
  });

  it('a blocked user\'s messages leave the blocker\'s sync timeline and unread counts', async () => {
    const room = await group(srv(), carol, [alice, bob]);
    const send = async (u: TestUser, body: string) => {
      const res = await matrix(srv(), u, 'PUT', `/rooms/${enc(room)}/send/m.room.message/${Math.random()}`, { msgtype: 'm.text', body });
      assert.equal(res.status, 200);
    };
    // Sent before the block: unread for alice until she blocks him.
    await send(bob, 'before');
    assert.equal((await sync(srv(), alice)).rooms.join[room].unread_notifications.notification_count, 1);
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    const aliceStart = (await sync(srv(), alice)).next_batch;
    const carolStart = (await sync(srv(), carol)).next_batch;
    await send(bob, 'from bob');
    await send(carol, 'from carol');
    const bodies = (s: any) => (s.rooms.join[room]?.timeline.events ?? []).filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body);
    const aliceSees = await sync(srv(), alice, aliceStart);
    assert.deepEqual(bodies(aliceSees), ['from carol']);
    assert.equal(aliceSees.rooms.join[room].unread_notifications.notification_count, 1);
    const pushed = await matrix(srv(), alice, 'GET', '/notifications');
    assert.deepEqual(pushed.body.notifications.filter((n: any) => n.room_id === room && n.event.type === 'm.room.message').map((n: any) => n.event.content.body), ['from carol']);
    const carolSees = await sync(srv(), carol, carolStart);
    assert.deepEqual(bodies(carolSees), ['from bob', 'from carol']);
    assert.equal(carolSees.rooms.join[room].unread_notifications.notification_count, 2, 'carol counts bob\'s two');
    // An initial sync drops them too; bob's membership (state) stays.
    const initial = await sync(srv(), alice);
    assert.deepEqual(bodies(initial), ['from carol']);
    assert.ok(initial.rooms.join[room].timeline.events.concat(initial.rooms.join[room].state.events).some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id));

    // Unblocked, his new messages come through.
    await ok(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);
    const mark = (await sync(srv(), alice)).next_batch;
    await send(bob, 'welcome back');
    assert.deepEqual(bodies(await sync(srv(), alice, mark)), ['welcome back']);
  });

  it('privacy: DMs from friends only by default, group invites from everyone', async () => {
    assert.deepEqual(await ok(srv(), alice, 'GET', '/privacy'), { dm_from: 'friends', group_invites_from: 'everyone' });
    const dm = await matrix(srv(), bob, 'POST', '/createRoom', { is_direct: true, invite: [alice.user_id], preset: 'trusted_private_chat' });
    assert.equal(dm.status, 403);
    assert.equal(dm.body.errcode, 'M_FORBIDDEN');
    assert.equal(dm.body.error, `${alice.user_id} only accepts direct messages from friends.`);
    // A DM invite into an existing room is refused the same way.
    const room = (await matrix(srv(), bob, 'POST', '/createRoom', {})).body.room_id;
    const put = await matrix(srv(), bob, 'PUT', `/rooms/${enc(room)}/state/m.room.member/${enc(alice.user_id)}`, { membership: 'invite', is_direct: true });
    assert.equal(put.status, 403);
    // Group invites are fine; a friend request is fine.
    assert.equal((await matrix(srv(), bob, 'POST', `/rooms/${enc(room)}/invite`, { user_id: alice.user_id })).status, 200);
    assert.equal((await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id })).state, 'pending');
    await ok(srv(), alice, 'POST', `/friends/requests/${enc(bob.user_id)}/accept`);
    // Friends may DM.
    assert.equal((await matrix(srv(), bob, 'POST', '/createRoom', { is_direct: true, invite: [alice.user_id] })).status, 200);

    // dm_from everyone lets anyone DM; group_invites_from friends stops strangers' groups.
    const changed = await ok(srv(), alice, 'PUT', '/privacy', { dm_from: 'everyone', group_invites_from: 'friends' });
    assert.deepEqual(changed, { dm_from: 'everyone', group_invites_from: 'friends' });
    assert.deepEqual(await ok(srv(), alice, 'GET', '/privacy'), changed);
    assert.deepEqual(friendsData(await sync(srv(), alice)).privacy, changed);
    assert.equal((await matrix(srv(), carol, 'POST', '/createRoom', { is_direct: true, invite: [alice.user_id] })).status, 200);
    const groupInvite = await matrix(srv(), carol, 'POST', '/createRoom', { name: 'strangers', invite: [alice.user_id] });
    assert.equal(groupInvite.status, 403);
    assert.equal(groupInvite.body.error, `${alice.user_id} only accepts group invites from friends.`);
    assert.equal((await matrix(srv(), bob, 'POST', '/createRoom', { name: 'friends', invite: [alice.user_id] })).status, 200);
    // A partial change keeps the other setting.
    assert.deepEqual(await ok(srv(), alice, 'PUT', '/privacy', { dm_from: 'friends' }), { dm_from: 'friends', group_invites_from: 'friends' });
  });
});
