/**
 * Two matrix-js-sdk clients running their own sync loops against a real server: a DM and a
 * group, invite and join, chat, edit, reply, react, redact, paginate history, typing, read
 * receipts, and unread counts that rise and reset.
 */
import assert from 'node:assert/strict';
import {
  createClient, EventType, MatrixEvent, MsgType, RelationType, RoomEvent, RoomMemberEvent, type MatrixClient, type Room,
} from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { describeServer, type TestUser } from './harness.ts';
import { startSdk, until } from './sdkHelpers.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

const bodies = (room: Room) => room.getLiveTimeline().getEvents().filter((e) => e.getType() === 'm.room.message').map((e) => e.getContent().body);

describeServer('matrix-js-sdk: two people chatting', {}, (srv) => {
  let a: MatrixClient;
  let b: MatrixClient;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    // Whisper takes DMs from friends only by default; these two are strangers.
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bob.access_token, body: { dm_from: 'everyone' } });
    a = await startSdk(srv(), alice);
    b = await startSdk(srv(), bob);
  });
  after(() => {
    a?.stopClient();
    b?.stopClient();
  });

  it('a DM: invite, join, chat both ways', async () => {
    const { room_id: dm } = await a.createRoom({ is_direct: true, invite: [bob.user_id], preset: 'trusted_private_chat' as never });
    await until('bob sees the invite', () => b.getRoom(dm)?.getMyMembership() === 'invite');
    await b.joinRoom(dm);
    await until('alice sees bob join', () => a.getRoom(dm)?.getMember(bob.user_id)?.membership === 'join');
    await a.sendTextMessage(dm, 'hi bob');
    await until('bob gets it', () => bodies(b.getRoom(dm)!).includes('hi bob'));
    await b.sendTextMessage(dm, 'hi alice');
    await until('alice gets the answer', () => bodies(a.getRoom(dm)!).includes('hi alice'));
    assert.equal(b.getRoom(dm)!.getJoinedMemberCount(), 2);
  });

  it('a group: edit, reply, react, redact, and history paging', async () => {
    const { room_id: group } = await a.createRoom({ name: 'Game night', invite: [bob.user_id] });
    await until('invite', () => b.getRoom(group)?.getMyMembership() === 'invite');
    await b.joinRoom(group);
    await until('bob sees the name', () => b.getRoom(group)?.name === 'Game night');

    const sent = await a.sendTextMessage(group, 'who is in tonite?');
    await a.sendEvent(group, EventType.RoomMessage, {
      msgtype: MsgType.Text, body: '* who is in tonight?', 'm.new_content': { msgtype: MsgType.Text, body: 'who is in tonight?' },
      'm.relates_to': { rel_type: RelationType.Replace, event_id: sent.event_id },
    } as never);
    await until('bob sees the edit applied', () => {
      const ev = b.getRoom(group)?.findEventById(sent.event_id);
      return ev?.getContent().body === 'who is in tonight?';
    });

    const reply = await b.sendEvent(group, EventType.RoomMessage, {
      msgtype: MsgType.Text, body: 'me!', 'm.relates_to': { 'm.in_reply_to': { event_id: sent.event_id } },
    } as never);
    await until('alice sees the reply', () => a.getRoom(group)?.findEventById(reply.event_id)?.replyEventId === sent.event_id);

    await a.sendEvent(group, EventType.Reaction, { 'm.relates_to': { rel_type: RelationType.Annotation, event_id: reply.event_id, key: '🎮' } } as never);
    await until('bob sees the reaction', () => {
      const rels = b.getRoom(group)?.relations.getChildEventsForEvent(reply.event_id, RelationType.Annotation, EventType.Reaction);
      return rels?.getSortedAnnotationsByKey()?.some(([key]) => key === '🎮');
    });

    const oops = await b.sendTextMessage(group, 'wrong window, sorry');
    await b.redactEvent(group, oops.event_id);
    await until('alice sees it redacted', () => a.getRoom(group)?.findEventById(oops.event_id)?.isRedacted());

    for (let i = 0; i < 30; i++) await a.sendTextMessage(group, `spam ${i}`);
    await until('bob is caught up', () => bodies(b.getRoom(group)!).includes('spam 29'));
    // A fresh client of bob's sees only the newest events, then pages back through history.
    const fresh = createClient({ baseUrl: srv().url, accessToken: bob.access_token, userId: bob.user_id, deviceId: bob.device_id });
    await fresh.startClient({ initialSyncLimit: 5 });
    try {
      const room = await until('fresh client has the room', () => fresh.getRoom(group) ?? undefined);
      while (!bodies(room).includes('who is in tonight?')) {
        const more = await fresh.scrollback(room, 20);
        if (!more.oldState.paginationToken && bodies(room).length < 3) break;
      }
      const all = bodies(room);
      assert.ok(all.includes('who is in tonight?') && all.includes('spam 0') && all.includes('spam 29'));
      assert.ok(all.indexOf('spam 0') < all.indexOf('spam 29'), 'in order');
    } finally {
      fresh.stopClient();
    }
  });

  it('typing, read receipts and unread counts', async () => {
    const { room_id: roomId } = await a.createRoom({ invite: [bob.user_id] });
    await until('invite', () => b.getRoom(roomId)?.getMyMembership() === 'invite');
    await b.joinRoom(roomId);
    await until('joined', () => a.getRoom(roomId)?.getMember(bob.user_id)?.membership === 'join');

    await a.sendTyping(roomId, true, 10_000);
    await until('bob sees alice typing', () => b.getRoom(roomId)?.getMember(alice.user_id)?.typing);
    await a.sendTyping(roomId, false, 0);
    await until('typing stops', () => b.getRoom(roomId)?.getMember(alice.user_id)?.typing === false);

    let lastEvent = '';
    for (let i = 0; i < 3; i++) lastEvent = (await a.sendTextMessage(roomId, `unread ${i}`)).event_id;
    await until('bob has 3 unread', () => b.getRoom(roomId)?.getUnreadNotificationCount() === 3);
    const ev = await until('bob has the event', () => b.getRoom(roomId)?.findEventById(lastEvent));
    await b.sendReadReceipt(ev as MatrixEvent);
    await until('counts reset', () => b.getRoom(roomId)?.getUnreadNotificationCount() === 0);
    await until('alice sees bob\'s receipt', () => a.getRoom(roomId)?.getUsersReadUpTo(a.getRoom(roomId)!.findEventById(lastEvent)!).includes(bob.user_id));
  });

  it('leaving and being kicked', async () => {
    const { room_id: roomId } = await a.createRoom({ invite: [bob.user_id] });
    await until('invite', () => b.getRoom(roomId)?.getMyMembership() === 'invite');
    await b.joinRoom(roomId);
    await until('joined', () => a.getRoom(roomId)?.getMember(bob.user_id)?.membership === 'join');
    await a.kick(roomId, bob.user_id, 'out');
    await until('bob sees he was kicked', () => b.getRoom(roomId)?.getMyMembership() === 'leave');
    const member = b.getRoom(roomId)!.getMember(bob.user_id);
    assert.equal(member?.events.member?.getContent().reason, 'out');
    void RoomEvent;
    void RoomMemberEvent;
  });
});
