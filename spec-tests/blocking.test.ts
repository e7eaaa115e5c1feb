/**
 * Blocking and privacy, rule by rule: the block list and m.ignored_user_list kept in step
 * both ways; invites, DMs and friend requests from a blocked user meet a stranger's rules and
 * answers but never reach the blocker (the block does not show), nor do they see the blocker's
 * presence; their messages leave the blocker's sync and unread counts; a block ends the
 * friendship and requests both ways. Privacy: DMs from friends only by default, group
 * invites governed by their own setting.
 */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';
import { befriend, enc, friendsData, matrix, membershipIn, ok, sync, whisper } from './friendsHelpers.ts';

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
    const since = (await sync(srv(), alice)).next_batch;
    assert.equal((await matrix(srv(), bob, 'POST', '/createRoom', { invite: [alice.user_id] })).status, 200);
    assert.deepEqual(Object.keys((await sync(srv(), alice, since)).rooms.invite), [], 'the block is enforced: the invite does not reach her');
    assert.equal((await put([carol.user_id])).status, 200);
    assert.deepEqual(await blockedIds(srv(), alice), [carol.user_id]);
    // The client's own entries stay as it wrote them.
    assert.deepEqual(await ignoreList(srv(), alice), [carol.user_id]);
  });

  it('invites from a blocked user meet the same rules as a stranger\'s, and never reach the blocker', async () => {
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    const aliceStart = (await sync(srv(), alice)).next_batch;
    const dmFrom = async (u: TestUser) => matrix(srv(), u, 'POST', '/createRoom', { is_direct: true, invite: [alice.user_id], preset: 'private_chat' });
    // DMs from non-friends are refused (the default): bob gets exactly a stranger's answer, and no room is made.
    const dave = await srv().register();
    const [bobDm, daveDm] = [await dmFrom(bob), await dmFrom(dave)];
    assert.equal(bobDm.status, 403);
    assert.deepEqual(bobDm.body, daveDm.body, 'the answer does not reveal the block');
    assert.deepEqual((await matrix(srv(), bob, 'GET', '/joined_rooms')).body.joined_rooms, []);

    // A group invite goes through as anyone's would; alice is "invited" to the others, but never told.
    const room = await group(srv(), bob, [carol]);
    const invite = await matrix(srv(), bob, 'POST', `/rooms/${enc(room)}/invite`, { user_id: alice.user_id });
    assert.equal(invite.status, 200);
    assert.equal(await membershipIn(srv(), bob, room, alice.user_id), 'invite');
    // With DMs open to everyone, bob's DM goes through too (a stranger's would), with its invite.
    await ok(srv(), alice, 'PUT', '/privacy', { dm_from: 'everyone' });
    const dm = await dmFrom(bob);
    assert.equal(dm.status, 200);
    assert.equal(await membershipIn(srv(), bob, dm.body.room_id, alice.user_id), 'invite');

    const seen = await sync(srv(), alice, aliceStart);
    assert.deepEqual(Object.keys(seen.rooms.invite), []);
    assert.deepEqual((await sync(srv(), alice)).rooms.invite, {}, 'nor in an initial sync');
    const pushed = (await matrix(srv(), alice, 'GET', '/notifications')).body.notifications;
    assert.ok(!pushed.some((n: any) => n.room_id === room || n.room_id === dm.body.room_id), 'no notification');
    // Bob rescinds the DM invite: alice is not told of the leave either.
    assert.equal((await matrix(srv(), bob, 'POST', `/rooms/${enc(dm.body.room_id)}/kick`, { user_id: alice.user_id })).status, 200);
    const later = await sync(srv(), alice, seen.next_batch);
    assert.deepEqual(Object.keys(later.rooms.leave ?? {}), []);

    // Unblocked: what came while blocked is not delivered late; a new invite arrives.
    await ok(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);
    assert.deepEqual((await sync(srv(), alice)).rooms.invite, {});
    const other = await group(srv(), bob, []);
    assert.equal((await matrix(srv(), bob, 'POST', `/rooms/${enc(other)}/invite`, { user_id: alice.user_id })).status, 200);
    assert.deepEqual(Object.keys((await sync(srv(), alice)).rooms.invite), [other]);
    // As does a new invite (carol's) to the room she was hidden from.
    assert.equal((await matrix(srv(), carol, 'POST', `/rooms/${enc(room)}/invite`, { user_id: alice.user_id })).status, 200);
    assert.deepEqual(Object.keys((await sync(srv(), alice)).rooms.invite).sort(), [other, room].sort());
    assert.equal((await matrix(srv(), alice, 'POST', `/join/${enc(room)}`)).status, 200);
  });

  it('a friend request to someone who blocked you looks sent as any other, and never arrives', async () => {
    // What bob sees is what he would see of any request: the DM room, alice invited in it, a
    // pending outgoing request. Alice sees nothing: no invite, no request, no notification.
    await ok(srv(), alice, 'PUT', `/blocks/${enc(bob.user_id)}`);
    const aliceStart = (await sync(srv(), alice)).next_batch;
    const sent = await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    assert.equal(sent.state, 'pending');
    assert.equal(sent.user_id, alice.user_id);
    assert.equal(await membershipIn(srv(), bob, sent.room_id, alice.user_id), 'invite', 'the room has its invite');
    const create = await matrix(srv(), bob, 'GET', `/rooms/${enc(sent.room_id)}/state/m.room.create/`);
    assert.equal(create.body['org.whisper.friend_request'], true);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing.map((r: any) => [r.user_id, r.room_id]), [[alice.user_id, sent.room_id]]);
    const dup = await whisper(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    assert.equal(dup.body.errcode, 'M_INVALID_PARAM', 'a second one is a duplicate, as for anyone');

    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).incoming, []);
    assert.deepEqual((await ok(srv(), alice, 'GET', '/notifications')).notifications, []);
    const later = await sync(srv(), alice, aliceStart);
    assert.deepEqual(Object.keys(later.rooms.invite), []);
    assert.ok(!friendsData(later) || friendsData(later).incoming.length === 0);
    assert.ok(!(await matrix(srv(), alice, 'GET', '/notifications')).body.notifications.some((n: any) => n.room_id === sent.room_id));
    assert.equal((await whisper(srv(), alice, 'POST', `/friends/requests/${enc(bob.user_id)}/accept`)).status, 404);
    // The blocker cannot request the blocked either, until they unblock.
    const back = await whisper(srv(), alice, 'POST', '/friends/requests', { user_id: bob.user_id });
    assert.equal(back.body.errcode, 'M_INVALID_PARAM');
    assert.match(back.body.error, /unblock/);

    // Bob may cancel it like any other: the invite is rescinded, and alice hears nothing.
    await ok(srv(), bob, 'DELETE', `/friends/requests/${enc(alice.user_id)}`);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing, []);
    assert.equal(await membershipIn(srv(), bob, sent.room_id, alice.user_id), 'leave');
    assert.deepEqual(Object.keys((await sync(srv(), alice, later.next_batch)).rooms.leave ?? {}), []);

    // One sent while blocked stays pending on bob's side at the unblock (bob cannot tell when
    // it happened) and is not delivered late.
    const second = await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    const bobMark = (await sync(srv(), bob)).next_batch;
    await ok(srv(), alice, 'DELETE', `/blocks/${enc(bob.user_id)}`);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing.map((r: any) => r.room_id), [second.room_id]);
    assert.equal(friendsData(await sync(srv(), bob, bobMark)), undefined, 'nothing changed for bob');
    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).incoming, []);
    assert.deepEqual((await sync(srv(), alice)).rooms.invite, {});
    // Sending again delivers a fresh one (the hidden one is rescinded in its place).
    const third = await ok(srv(), bob, 'POST', '/friends/requests', { user_id: alice.user_id });
    assert.equal(third.state, 'pending');
    assert.notEqual(third.room_id, second.room_id);
    assert.deepEqual((await ok(srv(), bob, 'GET', '/friends')).outgoing.map((r: any) => r.room_id), [third.room_id]);
    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).incoming.map((r: any) => r.user_id), [bob.user_id], 'now it arrives');
    assert.deepEqual(Object.keys((await sync(srv(), alice)).rooms.invite), [third.room_id]);
    await ok(srv(), alice, 'POST', `/friends/requests/${enc(bob.user_id)}/accept`);
    assert.deepEqual((await ok(srv(), alice, 'GET', '/friends')).friends.map((f: any) => f.user_id), [bob.user_id]);
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
