/** Account data, receipts, read markers, typing, push rules and unread counts, through /sync. */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

async function ok(srv: TestServer, method: string, path: string, user: TestUser, body?: unknown) {
  const res = await srv.request(method, path, { token: user.access_token, body });
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

describeServer('account data, receipts, typing, push rules, unread counts', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    // Whisper takes DMs from friends only by default; these two are strangers.
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bob.access_token, body: { dm_from: 'everyone' } });
    roomId = (await ok(srv(), 'POST', `${C}/createRoom`, alice, { invite: [bob.user_id], is_direct: true, preset: 'trusted_private_chat' })).room_id;
    await ok(srv(), 'POST', `${C}/join/${enc(roomId)}`, bob, {});
  });

  it('global and room account data round-trip and arrive through sync', async () => {
    const start = await ok(srv(), 'GET', `${C}/sync`, alice);
    assert.ok(start.account_data.events.some((e: { type: string }) => e.type === 'm.push_rules'), 'initial sync has push rules');
    await ok(srv(), 'PUT', `${C}/user/${enc(alice.user_id)}/account_data/m.direct`, alice, { [bob.user_id]: [roomId] });
    await ok(srv(), 'PUT', `${C}/user/${enc(alice.user_id)}/rooms/${enc(roomId)}/account_data/m.tag`, alice, { tags: { 'm.favourite': {} } });
    assert.deepEqual(await ok(srv(), 'GET', `${C}/user/${enc(alice.user_id)}/account_data/m.direct`, alice), { [bob.user_id]: [roomId] });
    const inc = await ok(srv(), 'GET', `${C}/sync?since=${start.next_batch}`, alice);
    assert.deepEqual(inc.account_data.events, [{ type: 'm.direct', content: { [bob.user_id]: [roomId] } }]);
    assert.deepEqual(inc.rooms.join[roomId].account_data.events, [{ type: 'm.tag', content: { tags: { 'm.favourite': {} } } }]);
    const other = await srv().request('GET', `${C}/user/${enc(alice.user_id)}/account_data/m.direct`, { token: bob.access_token });
    assert.equal(other.status, 403);
    const missing = await srv().request('GET', `${C}/user/${enc(alice.user_id)}/account_data/nope`, { token: alice.access_token });
    assert.equal(missing.status, 404);
    const managed = await srv().request('PUT', `${C}/user/${enc(alice.user_id)}/account_data/m.push_rules`, { token: alice.access_token, body: {} });
    assert.equal(managed.status, 405);
  });

  it('typing shows to the other member and stops', async () => {
    const start = await ok(srv(), 'GET', `${C}/sync`, bob);
    const poll = srv().request('GET', `${C}/sync?since=${start.next_batch}&timeout=5000`, { token: bob.access_token });
    await new Promise((r) => setTimeout(r, 100));
    await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, alice, { typing: true, timeout: 30000 });
    const woke = (await poll).body;
    const typing = woke.rooms.join[roomId].ephemeral.events.find((e: { type: string }) => e.type === 'm.typing');
    assert.deepEqual(typing.content.user_ids, [alice.user_id]);
    await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, alice, { typing: false });
    const after = await ok(srv(), 'GET', `${C}/sync?since=${woke.next_batch}`, bob);
    const stopped = after.rooms.join[roomId].ephemeral.events.find((e: { type: string }) => e.type === 'm.typing');
    assert.deepEqual(stopped.content.user_ids, []);
    const forOthers = await srv().request('PUT', `${C}/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, { token: bob.access_token, body: { typing: true } });
    assert.equal(forOthers.status, 403);
  });

  it('a typing notification that times out is announced as stopped', async () => {
    const start = await ok(srv(), 'GET', `${C}/sync`, bob);
    await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/typing/${enc(alice.user_id)}`, alice, { typing: true, timeout: 300 });
    const first = await ok(srv(), 'GET', `${C}/sync?since=${start.next_batch}`, bob);
    await new Promise((r) => setTimeout(r, 500));
    const later = await ok(srv(), 'GET', `${C}/sync?since=${first.next_batch}&timeout=2000`, bob);
    const typing = later.rooms.join[roomId]?.ephemeral.events.find((e: { type: string }) => e.type === 'm.typing');
    assert.deepEqual(typing?.content.user_ids, []);
  });

  it('unread counts rise with messages, highlight on mentions, and reset with a receipt', async () => {
    const start = await ok(srv(), 'GET', `${C}/sync`, bob);
    let last = '';
    for (let i = 0; i < 3; i++) {
      last = (await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/u${i}`, alice, { msgtype: 'm.text', body: `hello ${i}` })).event_id;
    }
    last = (await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/u-mention`, alice, {
      msgtype: 'm.text', body: 'hey bob', 'm.mentions': { user_ids: [bob.user_id] },
    })).event_id;
    const inc = await ok(srv(), 'GET', `${C}/sync?since=${start.next_batch}`, bob);
    assert.deepEqual(inc.rooms.join[roomId].unread_notifications, { notification_count: 4, highlight_count: 1 });
    const own = await ok(srv(), 'GET', `${C}/sync`, alice);
    assert.deepEqual(own.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 }, 'own messages do not count');

    const notifs = await ok(srv(), 'GET', `${C}/notifications?limit=10`, bob);
    const kinds = notifs.notifications.map((n: { event: { type: string } }) => n.event.type);
    assert.deepEqual(kinds, ['m.room.message', 'm.room.message', 'm.room.message', 'm.room.message', 'm.room.member'], 'the four messages and the invite');
    assert.equal(notifs.notifications[0].event.event_id, last);
    assert.equal(notifs.notifications[0].read, false);
    const highlights = await ok(srv(), 'GET', `${C}/notifications?only=highlight`, bob);
    assert.equal(highlights.notifications.length, 1);

    await ok(srv(), 'POST', `${C}/rooms/${enc(roomId)}/receipt/m.read/${enc(last)}`, bob, {});
    const after = await ok(srv(), 'GET', `${C}/sync?since=${inc.next_batch}`, bob);
    assert.deepEqual(after.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
    const receipt = after.rooms.join[roomId].ephemeral.events.find((e: { type: string }) => e.type === 'm.receipt');
    assert.ok(receipt.content[last]['m.read'][bob.user_id].ts > 0);
    const aliceSees = await ok(srv(), 'GET', `${C}/sync?since=${own.next_batch}`, alice);
    assert.ok(aliceSees.rooms.join[roomId].ephemeral.events.some((e: { type: string }) => e.type === 'm.receipt'), 'the sender sees the read receipt');
    const read = await ok(srv(), 'GET', `${C}/notifications`, bob);
    assert.ok(read.notifications.every((n: { read: boolean }) => n.read));
    const page = await ok(srv(), 'GET', `${C}/notifications?limit=2`, bob);
    const rest = await ok(srv(), 'GET', `${C}/notifications?limit=10&from=${page.next_token}`, bob);
    assert.equal(page.notifications.length + rest.notifications.length, 5, 'pages through all');
  });

  it('@room highlights by the room\'s notification power level, as the state stands after each change and redaction', async () => {
    const group = (await ok(srv(), 'POST', `${C}/createRoom`, alice, { preset: 'public_chat', name: 'levels' })).room_id;
    await ok(srv(), 'POST', `${C}/join/${enc(group)}`, bob, {});
    const levels = await ok(srv(), 'GET', `${C}/rooms/${enc(group)}/state/m.room.power_levels/`, alice);
    const everyone = async (txn: string) => {
      const start = await ok(srv(), 'GET', `${C}/sync?filter=${enc(JSON.stringify({ room: { timeline: { limit: 1 } } }))}`, alice);
      const before = start.rooms.join[group].unread_notifications.highlight_count as number;
      await ok(srv(), 'PUT', `${C}/rooms/${enc(group)}/send/m.room.message/${txn}`, bob, { msgtype: 'm.text', body: 'everyone, look', 'm.mentions': { room: true } });
      const after = await ok(srv(), 'GET', `${C}/sync?since=${start.next_batch}`, alice);
      return (after.rooms.join[group].unread_notifications.highlight_count as number) - before;
    };
    assert.equal(await everyone('r1'), 0, 'bob (power 0) may not notify the room by default (50)');
    const open = (await ok(srv(), 'PUT', `${C}/rooms/${enc(group)}/state/m.room.power_levels/`, alice, { ...levels, notifications: { room: 0 } })).event_id;
    assert.equal(await everyone('r2'), 1, 'the lowered level applies to the next message');
    // Redaction strips `notifications` from power levels (v11): back to the default.
    await ok(srv(), 'PUT', `${C}/rooms/${enc(group)}/redact/${enc(open)}/x1`, alice, {});
    assert.equal(await everyone('r3'), 0, 'the redacted power levels apply to the next message');
  });

  it('private receipts and the fully-read marker are only for the reader', async () => {
    const id = (await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/p1`, alice, { msgtype: 'm.text', body: 'private' })).event_id;
    const aliceStart = await ok(srv(), 'GET', `${C}/sync`, alice);
    await ok(srv(), 'POST', `${C}/rooms/${enc(roomId)}/read_markers`, bob, { 'm.fully_read': id, 'm.read.private': id });
    const bobSync = await ok(srv(), 'GET', `${C}/sync`, bob);
    const fully = bobSync.rooms.join[roomId].account_data.events.find((e: { type: string }) => e.type === 'm.fully_read');
    assert.equal(fully.content.event_id, id);
    const aliceInc = await ok(srv(), 'GET', `${C}/sync?since=${aliceStart.next_batch}`, alice);
    const seen = JSON.stringify(aliceInc.rooms.join[roomId]?.ephemeral ?? {});
    assert.ok(!seen.includes('m.read.private'), 'alice does not see bob\'s private receipt');
  });

  it('push rules: read, disable a rule, add a rule; the change reaches sync and evaluation', async () => {
    const rules = await ok(srv(), 'GET', `${C}/pushrules/`, bob);
    assert.ok(rules.global.underride.some((r: { rule_id: string }) => r.rule_id === '.m.rule.message'));
    const start = await ok(srv(), 'GET', `${C}/sync`, bob);
    await ok(srv(), 'PUT', `${C}/pushrules/global/override/.m.rule.master/enabled`, bob, { enabled: true });
    const inc = await ok(srv(), 'GET', `${C}/sync?since=${start.next_batch}`, bob);
    const pr = inc.account_data.events.find((e: { type: string }) => e.type === 'm.push_rules');
    assert.equal(pr.content.global.override.find((r: { rule_id: string }) => r.rule_id === '.m.rule.master').enabled, true);
    const mark = await ok(srv(), 'GET', `${C}/sync`, bob);
    await ok(srv(), 'PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/muted`, alice, { msgtype: 'm.text', body: 'you will not hear this' });
    const muted = await ok(srv(), 'GET', `${C}/sync?since=${mark.next_batch}`, bob);
    assert.deepEqual(muted.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
    await ok(srv(), 'PUT', `${C}/pushrules/global/override/.m.rule.master/enabled`, bob, { enabled: false });

    await ok(srv(), 'PUT', `${C}/pushrules/global/content/pizza`, bob, { pattern: 'pizza', actions: ['notify', { set_tweak: 'highlight' }] });
    const rule = await ok(srv(), 'GET', `${C}/pushrules/global/content/pizza`, bob);
    assert.equal(rule.pattern, 'pizza');
    const bad = await srv().request('PUT', `${C}/pushrules/global/content/bad`, { token: bob.access_token, body: { actions: 'loud' } });
    assert.equal(bad.status, 400);
    const unknown = await srv().request('GET', `${C}/pushrules/global/override/.m.rule.nope`, { token: bob.access_token });
    assert.equal(unknown.status, 404);
    await ok(srv(), 'DELETE', `${C}/pushrules/global/content/pizza`, bob);
  });
});
