/**
 * Friends through Whisper's API and plain Matrix: the request life cycle (send, cancel,
 * decline, accept, remove, re-request, mutual requests), the DM invite that mirrors each
 * request (accepted by a plain /join from matrix-js-sdk), the org.whisper.friends account
 * data arriving live through a running sync, the notifications feed, and bad input.
 */
import assert from 'node:assert/strict';
import { ClientEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { describeServer, type TestUser } from './harness.ts';
import { befriend, enc, friendsData, matrix, membershipIn, ok, sync, whisper } from './friendsHelpers.ts';
import { startSdk, until } from './sdkHelpers.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

describeServer('friends', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    carol = await srv().register('carol');
    await matrix(srv(), bob, 'PUT', `/profile/${enc(bob.user_id)}/displayname`, { displayname: 'Bob B' });
  });

  const list = (u: TestUser) => ok(srv(), u, 'GET', '/friends');
  const ids = (xs: Array<{ user_id: string }>) => xs.map((x) => x.user_id).sort();

  it('is advertised in /versions', async () => {
    const res = await srv().request('GET', '/_matrix/client/versions');
    assert.equal(res.body.unstable_features['org.whisper.friends'], true);
  });

  it('a request is a DM invite marked as a friend request; cancelling rescinds it', async () => {
    const bobStart = (await sync(srv(), bob)).next_batch;
    const sent = await ok(srv(), alice, 'POST', '/friends/requests', { username: 'bob' });
    assert.equal(sent.user_id, bob.user_id);
    assert.equal(sent.state, 'pending');
    assert.match(sent.room_id, /^!/);

    const mine = await list(alice);
    assert.deepEqual(ids(mine.outgoing), [bob.user_id]);
    assert.equal(mine.outgoing[0].displayname, 'Bob B');
    assert.equal(mine.outgoing[0].room_id, sent.room_id);
    assert.equal(typeof mine.outgoing[0].sent_at, 'number');
    const theirs = await list(bob);
    assert.deepEqual(ids(theirs.incoming), [alice.user_id]);
    assert.deepEqual(theirs.friends, []);

    // Bob's Matrix view: an invite with is_direct and the friend-request mark, and the account data.
    const bobSync = await sync(srv(), bob, bobStart);
    const invite = bobSync.rooms.invite[sent.room_id];
    assert.ok(invite, 'bob is invited to the request room');
    const member = invite.invite_state.events.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.user_id);
    assert.equal(member.content.is_direct, true);
    assert.equal(member.content['org.whisper.friend_request'], true);
    const create = invite.invite_state.events.find((e: any) => e.type === 'm.room.create');
    assert.equal(create.content['org.whisper.friend_request'], true);
    assert.deepEqual(friendsData(bobSync).incoming, [alice.user_id]);
    assert.equal(friendsData(bobSync).unread_notifications, 1);
    // The invite is a Matrix notification too (push rule .m.rule.invite_for_me).
    const pushed = await matrix(srv(), bob, 'GET', '/notifications');
    assert.ok(pushed.body.notifications.some((n: any) => n.room_id === sent.room_id && n.event.type === 'm.room.member'));

    // Alice cancels: the invite is rescinded and both lists empty.
    await ok(srv(), alice, 'DELETE', `/friends/requests/${enc(bob.user_id)}`);
    assert.deepEqual((await list(alice)).outgoing, []);
    assert.deepEqual((await list(bob)).incoming, []);
    const after = await sync(srv(), bob, bobSync.next_batch);
    assert.ok(after.rooms.leave[sent.room_id], 'the invite is gone from bob\'s sync: ' + JSON.stringify(after.rooms));
    assert.deepEqual(friendsData(after).incoming, []);
  });

  it('declining rejects the invite; accepting joins it; removing keeps the room', async () => {
    const first = await ok(srv(), alice, 'POST', '/friends/requests', { user_id: bob.user_id });
    await ok(srv(), bob, 'POST', `/friends/requests/${enc(alice.user_id)}/decline`);
    assert.deepEqual((await list(alice)).outgoing, []);
    assert.deepEqual((await list(bob)).incoming, []);
    assert.equal(await membershipIn(srv(), alice, first.room_id, bob.user_id), 'leave');

    const second = await ok(srv(), alice, 'POST', '/friends/requests', { user_id: bob.user_id });
    assert.notEqual(second.room_id, first.room_id);
    const accepted = await ok(srv(), bob, 'POST', `/friends/requests/${enc(alice.user_id)}/accept`);
    assert.deepEqual(accepted, { user_id: alice.user_id, room_id: second.room_id, state: 'accepted' });
    assert.equal(await membershipIn(srv(), alice, second.room_id, bob.user_id), 'join');

    const a = await list(alice);
    assert.deepEqual(ids(a.friends), [bob.user_id]);
    assert.equal(a.friends[0].room_id, second.room_id);
    assert.equal(a.friends[0].displayname, 'Bob B');
    assert.ok(['online', 'unavailable', 'offline'].includes(a.friends[0].presence));
    assert.equal(typeof a.friends[0].since, 'number');
    assert.deepEqual(a.outgoing, []);
    assert.deepEqual(ids((await list(bob)).friends), [alice.user_id]);
    // Bob's m.direct names the DM, as a Matrix client's would.
    const direct = await matrix(srv(), bob, 'GET', `/user/${enc(bob.user_id)}/account_data/m.direct`);
    assert.deepEqual(direct.body[alice.user_id], [second.room_id]);

    // Already friends, and requests to yourself or nobody.
    const again = await whisper(srv(), alice, 'POST', '/friends/requests', { user_id: bob.user_id });
    assert.equal(again.status, 400);
    assert.equal(again.body.errcode, 'M_INVALID_PARAM');
    assert.match(again.body.error, /already friends/);
    const self = await whisper(srv(), alice, 'POST', '/friends/requests', { user_id: alice.user_id });
    assert.equal(self.status, 400);
    assert.equal(self.body.errcode, 'M_INVALID_PARAM');
    const nobody = await whisper(srv(), alice, 'POST', '/friends/requests', { username: 'nobody' });
    assert.equal(nobody.status, 404);
    assert.equal(nobody.body.errcode, 'M_NOT_FOUND');

    await ok(srv(), bob, 'DELETE', `/friends/${enc(alice.user_id)}`);
    assert.deepEqual((await list(alice)).friends, []);
    assert.deepEqual((await list(bob)).friends, []);
    assert.equal(await membershipIn(srv(), alice, second.room_id, bob.user_id), 'join', 'the DM stays');
    const gone = await whisper(srv(), bob, 'DELETE', `/friends/${enc(alice.user_id)}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.errcode, 'M_NOT_FOUND');
  });

  it('a duplicate request is refused; a mutual request accepts', async () => {
    await ok(srv(), alice, 'POST', '/friends/requests', { user_id: carol.user_id });
    const dup = await whisper(srv(), alice, 'POST', '/friends/requests', { user_id: carol.user_id });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.errcode, 'M_INVALID_PARAM');
    assert.match(dup.body.error, /already sent/);
    const mutual = await ok(srv(), carol, 'POST', '/friends/requests', { username: 'alice' });
    assert.equal(mutual.state, 'accepted');
    assert.deepEqual(ids((await list(alice)).friends), [carol.user_id]);
    assert.deepEqual(ids((await list(carol)).friends), [alice.user_id]);
    assert.deepEqual((await list(carol)).incoming, []);
  });

  it('three people: each sees their own requests', async () => {
    const dave = await srv().register();
    const erin = await srv().register();
    await ok(srv(), dave, 'POST', '/friends/requests', { user_id: erin.user_id });
    await ok(srv(), carol, 'POST', '/friends/requests', { user_id: erin.user_id });
    await ok(srv(), erin, 'POST', '/friends/requests', { user_id: bob.user_id });
    const e = await list(erin);
    assert.deepEqual(ids(e.incoming), [carol.user_id, dave.user_id].sort());
    assert.deepEqual(ids(e.outgoing), [bob.user_id]);
    await ok(srv(), erin, 'POST', `/friends/requests/${enc(dave.user_id)}/accept`);
    const after = await list(erin);
    assert.deepEqual(ids(after.friends), [dave.user_id]);
    assert.deepEqual(ids(after.incoming), [carol.user_id]);
    assert.deepEqual(ids((await list(carol)).outgoing), [erin.user_id]);
    // Only the target can act on a request; nobody can cancel what they did not send.
    assert.equal((await whisper(srv(), carol, 'POST', `/friends/requests/${enc(dave.user_id)}/accept`)).status, 404);
    assert.equal((await whisper(srv(), carol, 'DELETE', `/friends/requests/${enc(bob.user_id)}`)).status, 404);
  });

  it('org.whisper.friends is server-managed', async () => {
    const put = await matrix(srv(), alice, 'PUT', `/user/${enc(alice.user_id)}/account_data/org.whisper.friends`, { friends: [] });
    assert.equal(put.status, 405);
    const got = await matrix(srv(), alice, 'GET', `/user/${enc(alice.user_id)}/account_data/org.whisper.friends`);
    assert.deepEqual(got.body.friends, [carol.user_id]);
  });

  it('notifications: requests and acceptances, read state, unread count and paging', async () => {
    const frank = await srv().register();
    const gina = await srv().register();
    const hank = await srv().register();
    await ok(srv(), gina, 'POST', '/friends/requests', { user_id: frank.user_id });
    await ok(srv(), hank, 'POST', '/friends/requests', { user_id: frank.user_id });
    await ok(srv(), frank, 'POST', '/friends/requests', { user_id: alice.user_id });
    await ok(srv(), alice, 'POST', `/friends/requests/${enc(frank.user_id)}/accept`);

    const feed = await ok(srv(), frank, 'GET', '/notifications');
    assert.deepEqual(feed.notifications.map((n: any) => [n.kind, n.user_id, n.read]), [
      ['friend_accepted', alice.user_id, false],
      ['friend_request', hank.user_id, false],
      ['friend_request', gina.user_id, false],
    ]);
    assert.equal(feed.unread_count, 3);
    assert.equal(typeof feed.notifications[0].id, 'string');
    assert.match(feed.notifications[0].room_id, /^!/);
    assert.equal(typeof feed.notifications[0].ts, 'number');
    assert.equal(feed.next_batch, undefined);

    const page1 = await ok(srv(), frank, 'GET', '/notifications?limit=2');
    assert.equal(page1.notifications.length, 2);
    assert.ok(page1.next_batch);
    const page2 = await ok(srv(), frank, 'GET', `/notifications?limit=2&from=${page1.next_batch}`);
    assert.deepEqual(page2.notifications.map((n: any) => n.user_id), [gina.user_id]);

    // Read up to the middle one: the oldest two are read.
    await ok(srv(), frank, 'POST', '/notifications/read', { up_to: feed.notifications[1].id });
    const partly = await ok(srv(), frank, 'GET', '/notifications');
    assert.deepEqual(partly.notifications.map((n: any) => n.read), [false, true, true]);
    assert.equal(partly.unread_count, 1);
    assert.equal(friendsData(await sync(srv(), frank)).unread_notifications, 1);
    await ok(srv(), frank, 'POST', '/notifications/read', { all: true });
    assert.equal((await ok(srv(), frank, 'GET', '/notifications')).unread_count, 0);
    assert.equal(friendsData(await sync(srv(), frank)).unread_notifications, 0);
    // Others' feeds are their own.
    assert.deepEqual((await ok(srv(), gina, 'GET', '/notifications')).notifications, []);
  });

  it('bad input on the friends routes', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/friends/requests', {}, 400, 'M_MISSING_PARAM'],
      ['POST', '/friends/requests', { user_id: 5 }, 400, 'M_BAD_JSON'],
      ['POST', '/friends/requests', { user_id: '' }, 400, 'M_BAD_JSON'],
      ['POST', '/friends/requests', { user_id: '@someone:elsewhere.example' }, 404, 'M_NOT_FOUND'],
      ['POST', `/friends/requests/${enc('@nobody:whisper.test')}/accept`, {}, 404, 'M_NOT_FOUND'],
      ['POST', `/friends/requests/${enc(carol.user_id)}/decline`, {}, 404, 'M_NOT_FOUND'],
      ['DELETE', `/friends/requests/${enc('%00')}`, {}, 404, 'M_NOT_FOUND'],
      ['GET', '/notifications?limit=abc', undefined, 400, 'M_INVALID_PARAM'],
      ['GET', '/notifications?from=-1', undefined, 400, 'M_INVALID_PARAM'],
      ['POST', '/notifications/read', {}, 400, 'M_MISSING_PARAM'],
      ['POST', '/notifications/read', { up_to: 7 }, 400, 'M_BAD_JSON'],
      ['POST', '/notifications/read', { all: false }, 400, 'M_BAD_JSON'],
      ['PUT', '/privacy', { dm_from: 'nobody' }, 400, 'M_BAD_JSON'],
    ];
    for (const [method, path, body, status, errcode] of cases) {
      const res = await whisper(srv(), alice, method, path, body);
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.errcode, errcode, `${method} ${path}`);
    }
    const anon = await srv().request('GET', '/_whisper/client/v1/friends');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.errcode, 'M_MISSING_TOKEN');
  });
});

describeServer('friends from a plain Matrix client (matrix-js-sdk)', {}, (srv) => {
  let ivy: TestUser;
  let jack: TestUser;
  let kim: TestUser;
  let j: MatrixClient;
  let k: MatrixClient;

  before(async () => {
    ivy = await srv().register('ivy');
    jack = await srv().register('jack');
    kim = await srv().register('kim');
    j = await startSdk(srv(), jack);
    k = await startSdk(srv(), kim);
  });
  after(() => {
    j?.stopClient();
    k?.stopClient();
  });

  const friendsOf = (c: MatrixClient) => c.getAccountData('org.whisper.friends' as never)?.getContent();

  it('joining the invite accepts; org.whisper.friends arrives live through the running sync', async () => {
    const seen: any[] = [];
    j.on(ClientEvent.AccountData, (e: MatrixEvent) => {
      if (e.getType() === 'org.whisper.friends') seen.push(e.getContent());
    });
    const sent = await ok(srv(), ivy, 'POST', '/friends/requests', { user_id: jack.user_id });
    await until('jack sees the invite', () => j.getRoom(sent.room_id)?.getMyMembership() === 'invite');
    await until('jack hears of the request', () => friendsOf(j)?.incoming?.includes(ivy.user_id));
    const invite = j.getRoom(sent.room_id)!.getMember(jack.user_id)!.events.member!;
    assert.equal(invite.getContent()['org.whisper.friend_request'], true);

    // A plain Matrix join, as Element would do.
    await j.joinRoom(sent.room_id);
    await until('jack hears of the friendship', () => friendsOf(j)?.friends?.includes(ivy.user_id));
    assert.deepEqual(friendsOf(j)?.incoming, []);
    assert.ok(seen.some((c) => c.incoming.includes(ivy.user_id)), 'the request came as a live account-data event');
    assert.ok(seen.some((c) => c.friends.includes(ivy.user_id)), 'the friendship came as a live account-data event');
    assert.deepEqual((await ok(srv(), ivy, 'GET', '/friends')).friends.map((f: any) => f.user_id), [jack.user_id]);
    const feed = await ok(srv(), ivy, 'GET', '/notifications');
    assert.equal(feed.notifications[0].kind, 'friend_accepted');
    assert.equal(feed.notifications[0].user_id, jack.user_id);
  });

  it('rejecting the invite declines', async () => {
    const sent = await ok(srv(), ivy, 'POST', '/friends/requests', { user_id: kim.user_id });
    await until('kim sees the invite', () => k.getRoom(sent.room_id)?.getMyMembership() === 'invite');
    await k.leave(sent.room_id);
    await until('ivy hears of it', async () => (await ok(srv(), ivy, 'GET', '/friends')).outgoing.length === 0);
    await until('kim\'s account data says so', () => friendsOf(k)?.incoming?.length === 0);
    assert.deepEqual((await ok(srv(), kim, 'GET', '/friends')).friends, []);
  });

  it('the Whisper API\'s accept is seen by the Matrix client as a join', async () => {
    const sent = await ok(srv(), kim, 'POST', '/friends/requests', { user_id: jack.user_id });
    await until('jack sees the invite', () => j.getRoom(sent.room_id)?.getMyMembership() === 'invite');
    await ok(srv(), jack, 'POST', `/friends/requests/${enc(kim.user_id)}/accept`);
    await until('jack\'s client shows him joined', () => j.getRoom(sent.room_id)?.getMyMembership() === 'join');
    await until('both are friends in jack\'s account data', () => friendsOf(j)?.friends?.includes(kim.user_id));
  });
});
