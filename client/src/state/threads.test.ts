/**
 * Threads in the state layer, two people on a real server: a reply in a thread leaves the
 * room's timeline alone and shows as the root's summary (count, last reply) with the thread's
 * own unread count; the thread's replies carry the m.thread relation with the spec's reply
 * fallback; they arrive live; a threaded receipt clears the thread's count on the server; a
 * client that starts later sees the summary the server bundled on the root.
 */
import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { NotificationCountType } from 'matrix-js-sdk';
import { describeServer, type TestUser } from '../../../spec-tests/harness.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { startChat, bodies } from './chatTesting.ts';

describeServer('ChatState: threads', {}, (srv) => {
  let alice: ChatState;
  let bob: ChatState;
  let aliceUser: TestUser;
  let roomId: string;
  let rootId: string;
  const chats: ChatState[] = [];

  before(async () => {
    aliceUser = await srv().register('alice');
    const bobUser = await srv().register('bob');
    alice = await startChat(srv(), aliceUser);
    bob = await startChat(srv(), bobUser);
    chats.push(alice, bob);
    roomId = await alice.createGroup('threads', [bobUser.user_id]);
    await until('the invite', () => bob.room(roomId));
    await bob.acceptInvite(roomId);
    rootId = await alice.sendText(roomId, 'who is up for a game tonight?');
    await until('the root at bob', () => bodies(bob, roomId).includes('who is up for a game tonight?'));
    await alice.markRead(roomId);
  });
  after(() => chats.forEach((c) => c.stop()));

  it('a reply in a thread shows as the root summary, with the thread unread count, not in the timeline', async () => {
    const root = bob.room(roomId)!.findEventById(rootId)!;
    const replyId = await bob.threads.send(roomId, rootId, 'me! at nine?');
    const summary = await until('the summary at alice', () => {
      const ev = alice.room(roomId)?.findEventById(rootId);
      const s = ev && alice.threads.summary(ev);
      return s && s.last && s.unread > 0 ? s : undefined;
    });
    assert.equal(summary.count, 1);
    assert.equal(ChatState.bodyOf(summary.last!), 'me! at nine?');
    assert.equal(summary.unread, 1, 'sync gives the thread its own unread count');
    assert.ok(!bodies(alice, roomId).includes('me! at nine?'), 'the reply is not in the main timeline');
    assert.ok(bodies(alice, roomId).includes('who is up for a game tonight?'));
    assert.equal(alice.room(roomId)!.getRoomUnreadNotificationCount(NotificationCountType.Total), 0, 'the room itself has nothing unread');
    await until('the summary at bob', () => bob.threads.summary(root)?.count === 1);

    // The reply's relation: m.thread to the root, falling back to a reply to the latest event.
    const wire = await srv().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(replyId)}`, { token: aliceUser.access_token });
    assert.deepEqual(wire.body.content['m.relates_to'], { rel_type: 'm.thread', event_id: rootId, is_falling_back: true, 'm.in_reply_to': { event_id: rootId } });
  });

  it('the thread panel lists the replies; a reply arrives live on the other side; its fallback quotes the latest', async () => {
    alice.threads.open(roomId, rootId);
    await until('the thread at alice', () => alice.threads.replies(roomId, rootId).some((e) => ChatState.bodyOf(e) === 'me! at nine?'));
    const answerId = await alice.threads.send(roomId, rootId, 'nine works');
    const seen = await until('the reply at bob', () => bob.threads.replies(roomId, rootId).find((e) => e.getId() === answerId));
    assert.equal(ChatState.bodyOf(seen), 'nine works');
    const content = seen.getWireContent()['m.relates_to']!;
    assert.equal(content.rel_type, 'm.thread');
    assert.equal(content.is_falling_back, true);
    assert.notEqual(content['m.in_reply_to']!.event_id, rootId, 'the fallback points at the latest reply, not the root');
    assert.deepEqual(bob.threads.replies(roomId, rootId).map((e) => ChatState.bodyOf(e)), ['me! at nine?', 'nine works']);
    await until('the count at bob', () => bob.threads.summary(bob.room(roomId)!.findEventById(rootId)!)?.count === 2);
    assert.ok(!bodies(bob, roomId).includes('nine works'));
  });

  it('a threaded receipt clears the thread count, on the server too', async () => {
    const rootAt = () => alice.room(roomId)!.findEventById(rootId)!;
    await until('the thread loaded', () => alice.threads.replies(roomId, rootId).length === 2);
    await alice.threads.markRead(roomId, rootId);
    assert.equal(alice.threads.summary(rootAt())!.unread, 0);
    // A client started now sees the summary the server bundled, and nothing unread.
    const later = await startChat(srv(), aliceUser);
    chats.push(later);
    const summary = await until('the bundled summary', () => {
      const ev = later.room(roomId)?.findEventById(rootId);
      const s = ev && later.threads.summary(ev);
      return s?.count === 2 ? s : undefined;
    });
    assert.equal(summary.unread, 0);
    assert.equal(later.room(roomId)!.getUnreadNotificationCount(NotificationCountType.Total), 0);
    // The room's thread list comes from the server (/threads).
    await later.threads.loadList(roomId);
    const list = later.threads.list(roomId);
    assert.deepEqual(list.map((t) => [t.rootId, t.count]), [[rootId, 2]]);
    assert.deepEqual(later.threads.unreadInThreads(roomId), { unread: 0, highlight: 0 });
  });

  it('the thread list counts unread replies across the room, and lists the most recently active first', async () => {
    const second = await bob.sendText(roomId, 'and who brings snacks?');
    await until('the root at alice', () => alice.room(roomId)?.findEventById(second));
    await bob.threads.send(roomId, second, 'not me');
    await until('the unread reply at alice', () => alice.threads.unreadInThreads(roomId).unread === 1);
    assert.deepEqual(alice.threads.list(roomId).map((t) => [t.rootId, t.unread]), [[second, 1], [rootId, 0]]);
  });

  it('a reply whose echo comes through sync before the send answers is sent, not failed', async () => {
    // Bob's second client holds back the answer to every send until its sync has the echo:
    // the order a busy server (or another server process) gives.
    const login = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: 'correct horse battery staple' },
    });
    const bobUser: TestUser = { ...login.body, password: 'correct horse battery staple' };
    let sync: ChatState | undefined;
    const slowSends: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (init?.method === 'PUT' && /\/send\//.test(url)) {
        const { event_id } = (await res.clone().json()) as { event_id: string };
        // The echo has been handled once the sdk knows the event by its id (not the local one).
        await until('the echo before the answer', () => sync?.room(roomId)?.findEventById(event_id)?.getUnsigned().transaction_id);
      }
      return res;
    };
    sync = await startChat(srv(), bobUser, slowSends);
    chats.push(sync);
    // The first reply of a new thread, and a second one.
    const root = await alice.sendText(roomId, 'anyone seen my headset?');
    await until('the new root at the new client', () => sync.room(roomId)?.findEventById(root));
    for (const text of ['not me', 'on my way']) {
      const id = await sync.threads.send(roomId, root, text);
      assert.match(id, /^\$/);
    }
    const sent = sync.room(roomId)!.getThread(root)!.timeline.find((e) => ChatState.bodyOf(e) === 'on my way')!;
    assert.equal(sent.status, null, 'the reply shows as sent');
    assert.equal(ChatState.bodyOf(sent), 'on my way');
  });
});
