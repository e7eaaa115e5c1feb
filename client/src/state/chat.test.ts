import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { describeServer, type TestUser } from '../../../spec-tests/harness.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { startChat } from './chatTesting.ts';

const messages = (chat: ChatState, roomId: string) =>
  chat.timeline(roomId).flatMap((i) => (i.kind === 'message' ? [i.event] : []));
const find = (chat: ChatState, roomId: string, text: string) =>
  messages(chat, roomId).find((e) => ChatState.bodyOf(e).includes(text));

describeServer('ChatState over matrix-js-sdk', {}, (srv) => {
  let alice: ChatState;
  let bob: ChatState;
  let aliceUser: TestUser;
  let dm: string;
  const chats: ChatState[] = [];

  before(async () => {
    aliceUser = await srv().register('alice');
    const bobUser = await srv().register('bob');
    // Whisper lets only friends start DMs by default; these tests are about chat, not friends.
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bobUser.access_token, body: { dm_from: 'everyone' } });
    alice = await startChat(srv(), aliceUser);
    bob = await startChat(srv(), bobUser);
    chats.push(alice, bob);
  });
  after(() => chats.forEach((c) => c.stop()));

  it('a DM started by one shows as an invite to the other, and as a DM on both sides once accepted', async () => {
    let redraws = 0;
    bob.subscribe(() => redraws++);
    dm = await alice.startDm('@bob:whisper.test');
    assert.equal(await alice.startDm('@bob:whisper.test'), dm, 'a second start opens the same DM');
    const invite = await until('the invite at bob', () => bob.rooms().find((r) => r.roomId === dm));
    assert.equal(invite.membership, 'invite');
    assert.equal(invite.kind, 'dm');
    assert.equal(invite.inviter, '@alice:whisper.test');
    assert.equal(bob.totalUnread().unread, 1, 'an invitation counts as unread');
    assert.ok(redraws > 0, 'sync changes notify subscribers');
    await bob.acceptInvite(dm);
    await until('bob joined', () => bob.rooms().find((r) => r.roomId === dm && r.membership === 'join' && r.kind === 'dm'));
    await until('alice sees bob join', () => alice.room(dm)?.getMember('@bob:whisper.test')?.membership === 'join');
    assert.equal(alice.rooms().find((r) => r.roomId === dm)?.kind, 'dm');
    assert.equal(alice.rooms().find((r) => r.roomId === dm)?.dmUserId, '@bob:whisper.test');
  });

  it('messages arrive with unread and mention counts; marking read clears them', async () => {
    await alice.sendText(dm, 'plain hello');
    await alice.sendText(dm, 'hey **bob**, look');
    const summary = await until('two unread at bob', () => {
      const r = bob.rooms().find((x) => x.roomId === dm);
      return r && r.unread === 2 ? r : undefined;
    });
    assert.equal(summary.mentions, 1, 'the message naming bob is a mention');
    const md = find(bob, dm, 'look')!;
    assert.equal(md.getContent().formatted_body, '<p>hey <strong>bob</strong>, look</p>');
    assert.deepEqual(bob.totalUnread(), { unread: 2, mentions: 1 });
    const marker = bob.unreadMarker(dm);
    const order = bob.room(dm)!.getLiveTimeline().getEvents().map((e) => e.getId());
    assert.ok(marker && order.indexOf(marker) < order.indexOf(find(bob, dm, 'plain hello')!.getId()), 'the "New" line goes before the first unread message');
    await bob.markRead(dm);
    assert.equal(bob.rooms().find((r) => r.roomId === dm)?.unread, 0);
    assert.equal(bob.unreadMarker(dm), undefined);
    const counts = await srv().request('GET', '/_matrix/client/v3/sync?timeout=0', { token: (bob.client.getAccessToken())! });
    assert.equal(counts.body.rooms.join[dm].unread_notifications.notification_count, 0, 'the receipt reached the server');
    await until('alice sees bob read it', () => bob.readBy(find(bob, dm, 'look')!).length === 0 && alice.readBy(find(alice, dm, 'look')!).includes('@bob:whisper.test'));
  });

  it('edits replace the text, replies point at their message, reactions toggle, redactions blank', async () => {
    const original = find(alice, dm, 'plain hello')!;
    await alice.edit(original, 'edited hello');
    await until('bob sees the edit', () => find(bob, dm, 'edited hello'));
    assert.equal(messages(bob, dm).filter((e) => ChatState.bodyOf(e).includes('hello')).length, 1, 'the edit is folded into the message');
    assert.ok(find(bob, dm, 'edited hello')!.replacingEventId());

    const target = find(bob, dm, 'edited hello')!;
    await bob.sendText(dm, 'a reply', target);
    const reply = await until('alice sees the reply', () => find(alice, dm, 'a reply'));
    assert.equal(alice.replyTarget(reply)?.getId(), original.getId());

    await alice.toggleReaction(reply, '👍');
    await until('bob sees the reaction', () => {
      const r = bob.reactions(find(bob, dm, 'a reply')!);
      return r.length === 1 && r[0].key === '👍' && r[0].count === 1 && r[0].senders[0] === '@alice:whisper.test';
    });
    await until('alice has her reaction', () => alice.reactions(reply)[0]?.mine);
    await alice.toggleReaction(reply, '👍');
    await until('the reaction is taken back at bob', () => bob.reactions(find(bob, dm, 'a reply')!).length === 0);

    await bob.redact(find(bob, dm, 'a reply')!);
    await until('alice sees it deleted', () => messages(alice, dm).find((e) => e.getId() === reply.getId())?.isRedacted());
  });

  it('typing is shown to the other side', async () => {
    alice.setTyping(dm, true);
    await until('bob sees alice typing', () => bob.typingUsers(dm).includes('alice'));
    alice.setTyping(dm, false);
    await until('typing stops', () => bob.typingUsers(dm).length === 0);
  });

  it('scroll-back pages through older history until the start of the room', async () => {
    const room = await alice.createGroup('history', []);
    for (let i = 0; i < 120; i++) await alice.client.sendTextMessage(room, `old ${i}`);
    const fresh = await startChat(srv(), aliceUser);
    chats.push(fresh);
    const first = messages(fresh, room).length;
    assert.ok(first < 120, `the first sync has only the newest page (${first})`);
    assert.equal(fresh.hasMoreHistory(room), true);
    let pages = 0;
    while (fresh.hasMoreHistory(room) && pages < 20) {
      await fresh.loadOlder(room, 50);
      pages++;
    }
    const all = messages(fresh, room).map((e) => ChatState.bodyOf(e));
    assert.equal(all.length, 120);
    assert.deepEqual(all.slice(0, 3), ['old 0', 'old 1', 'old 2'], 'oldest first, in order');
    assert.ok(pages >= 2);
    assert.equal(fresh.hasMoreHistory(room), false);
  });

  it('groups: create with invitees, invite more; they show as group chats', async () => {
    const carol = await srv().register('carol');
    const room = await alice.createGroup('Game night', ['@bob:whisper.test']);
    await alice.invite(room, carol.user_id);
    const atBob = await until('bob is invited', () => bob.rooms().find((r) => r.roomId === room));
    assert.equal(atBob.kind, 'group');
    assert.equal(atBob.name, 'Game night');
    await bob.acceptInvite(room);
    await until('joined', () => bob.rooms().find((r) => r.roomId === room)?.membership === 'join');
    assert.equal(bob.rooms().find((r) => r.roomId === room)?.kind, 'group');
    const members = await srv().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/members`, { token: aliceUser.access_token });
    assert.deepEqual(members.body.chunk.map((e: any) => `${e.state_key}=${e.content.membership}`).sort(),
      ['@alice:whisper.test=join', '@bob:whisper.test=join', `${carol.user_id}=invite`]);
  });

  it('uploads are listed while they run and post an image message with its size', async () => {
    const progress: number[] = [];
    const unsubscribe = alice.subscribe(() => alice.uploads.forEach((u) => progress.push(u.loaded)));
    const bytes = new Uint8Array(256 * 1024).fill(7);
    await alice.sendFile(dm, new Blob([bytes], { type: 'image/png' }), 'pic.png', { w: 10, h: 20 });
    unsubscribe();
    assert.ok(progress.length > 0, 'the upload was listed (with its progress) while it ran');
    assert.equal(alice.uploads.length, 0, 'a finished upload leaves the list');
    const ev = await until('bob gets the image', () => messages(bob, dm).find((e) => e.getContent().msgtype === 'm.image'));
    assert.deepEqual(ev.getContent().info, { mimetype: 'image/png', size: bytes.length, w: 10, h: 20 });
    const url = bob.client.mxcUrlToHttp(ev.getContent().url, undefined, undefined, undefined, false, true, true)!;
    const download = await fetch(url, { headers: { Authorization: `Bearer ${bob.client.getAccessToken()}` } });
    assert.equal(download.status, 200);
    assert.equal((await download.arrayBuffer()).byteLength, bytes.length);
  });

  it('search finds messages in the room', async () => {
    await alice.sendText(dm, 'the quick brown fox');
    const hits = await until('indexed', async () => {
      const h = await bob.search('brown', dm);
      return h.length ? h : undefined;
    });
    assert.equal(hits[0].body, 'the quick brown fox');
    assert.equal(hits[0].sender, '@alice:whisper.test');
  });

  it('profile and sessions: display name, list devices, sign one out with the password', async () => {
    assert.equal(alice.profile().displayName, 'alice', 'the own profile is read at start');
    await alice.setDisplayName('Alice A.');
    assert.equal(alice.profile().displayName, 'Alice A.');
    const profile = await srv().request('GET', '/_matrix/client/v3/profile/@alice:whisper.test');
    assert.equal(profile.body.displayname, 'Alice A.');
    const other = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: aliceUser.password } });
    const devices = await alice.devices();
    assert.equal(devices[0].current, true, 'this device first');
    assert.ok(devices.some((d) => d.deviceId === other.body.device_id));
    await assert.rejects(alice.deleteDevice(other.body.device_id, 'wrong password'));
    await alice.deleteDevice(other.body.device_id, aliceUser.password);
    assert.ok(!(await alice.devices()).some((d) => d.deviceId === other.body.device_id));
    const gone = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: other.body.access_token });
    assert.equal(gone.body.errcode, 'M_UNKNOWN_TOKEN');
  });
});
