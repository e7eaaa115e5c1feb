/**
 * Spec: threaded read receipts and per-thread unread counts in sync. With the filter's
 * `unread_thread_notifications`, a thread's replies count in that thread; a receipt with the
 * thread's root as `thread_id` clears that thread only, one with `main` the main timeline only,
 * an unthreaded one everything up to its event. Without the flag the counts are summed.
 */
import assert from 'node:assert/strict';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const enc = encodeURIComponent;
const THREADED = enc(JSON.stringify({ room: { timeline: { limit: 1, unread_thread_notifications: true } } }));
const PLAIN = enc(JSON.stringify({ room: { timeline: { limit: 1 } } }));

describeServer('threaded read receipts and per-thread unread counts', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  let txn = 0;

  const send = async (srvr: TestServer, user: TestUser, content: Record<string, unknown>): Promise<string> =>
    (await srvr.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${++txn}`, { token: user.access_token, body: { msgtype: 'm.text', ...content } })).body.event_id;
  const inThread = (root: string, body: string) => ({ body, 'm.relates_to': { rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: root } } });
  const receipt = (eventId: string, threadId?: string) =>
    srv().request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, { token: alice.access_token, body: threadId ? { thread_id: threadId } : {} });
  const counts = async (filter = THREADED) => {
    const { body } = await srv().request('GET', `/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { token: alice.access_token });
    const room = body.rooms.join[roomId];
    const threads: Record<string, number> = {};
    for (const [id, c] of Object.entries(room.unread_thread_notifications ?? {}) as [string, { notification_count: number }][]) {
      if (c.notification_count) threads[id] = c.notification_count;
    }
    return { main: room.unread_notifications.notification_count as number, threads };
  };

  before(async () => {
    alice = await srv().register();
    bob = await srv().register();
    roomId = (await srv().request('POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { invite: [bob.user_id] } })).body.room_id;
    await srv().request('POST', `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.access_token, body: {} });
  });

  it('a threaded receipt clears its thread only; a main one the main timeline only; an unthreaded one both', async () => {
    const root = await send(srv(), bob, { body: 'root' });
    const first = await send(srv(), bob, inThread(root, 'first reply'));
    assert.deepEqual(await counts(), { main: 1, threads: { [root]: 1 } });
    assert.deepEqual(await counts(PLAIN), { main: 2, threads: {} }, 'without the flag: one sum');

    assert.equal((await receipt(first, root)).status, 200);
    assert.deepEqual(await counts(), { main: 1, threads: {} }, 'the thread was read, the room was not');

    const second = await send(srv(), bob, inThread(root, 'second reply'));
    assert.equal((await receipt(root, 'main')).status, 200);
    assert.deepEqual(await counts(), { main: 0, threads: { [root]: 1 } }, 'reading the room leaves the thread unread');

    await send(srv(), bob, { body: 'later in the room' });
    assert.equal((await receipt(second)).status, 200);
    assert.deepEqual(await counts(), { main: 1, threads: {} }, 'an unthreaded receipt reads everything before its event');
  });
});
