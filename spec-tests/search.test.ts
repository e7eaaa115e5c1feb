/** POST /search: full text over message bodies, by rank or recency, paged, only where the user may read. */
import assert from 'node:assert/strict';
import { describeServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;

describeServer('message search', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let shared: string;
  let secret: string;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    shared = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: { invite: [bob.user_id] } })).body.room_id;
    await srv().request('POST', `${C}/join/${enc(shared)}`, { token: bob.access_token, body: {} });
    secret = (await srv().request('POST', `${C}/createRoom`, { token: alice.access_token, body: {} })).body.room_id;
    const say = (roomId: string, body: string, i: number) =>
      srv().request('PUT', `${C}/rooms/${enc(roomId)}/send/m.room.message/s${i}`, { token: alice.access_token, body: { msgtype: 'm.text', body } });
    const lines = ['pizza tonight?', 'I want pizza pizza pizza', 'no, burgers', 'pizza place closes at ten', 'whatever', 'Pizza!'];
    for (const [i, l] of lines.entries()) await say(shared, l, i);
    await say(secret, 'secret pizza recipe', 99);
  });

  const search = (user: TestUser, body: Record<string, unknown>, next?: string) =>
    srv().request('POST', `${C}/search${next ? `?next_batch=${next}` : ''}`, { token: user.access_token, body: { search_categories: { room_events: body } } });

  it('finds messages by word, only in rooms the user is in', async () => {
    const res = await search(bob, { search_term: 'pizza' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = res.body.search_categories.room_events;
    assert.equal(r.count, 4);
    assert.ok(r.results.every((x: { result: { room_id: string } }) => x.result.room_id === shared));
    assert.equal(r.results[0].result.content.body, 'I want pizza pizza pizza', 'best match first');
    assert.ok(r.highlights.includes('pizza'));
    const mine = await search(alice, { search_term: 'pizza' });
    assert.equal(mine.body.search_categories.room_events.count, 5);
  });

  it('orders by recency and pages with next_batch', async () => {
    const first = await search(bob, { search_term: 'pizza', order_by: 'recent', filter: { limit: 2 } });
    const r1 = first.body.search_categories.room_events;
    assert.deepEqual(r1.results.map((x: { result: { content: { body: string } } }) => x.result.content.body), ['Pizza!', 'pizza place closes at ten']);
    const second = await search(bob, { search_term: 'pizza', order_by: 'recent', filter: { limit: 2 } }, r1.next_batch);
    const r2 = second.body.search_categories.room_events;
    assert.deepEqual(r2.results.map((x: { result: { content: { body: string } } }) => x.result.content.body), ['I want pizza pizza pizza', 'pizza tonight?']);
  });

  it('gives context around results and honours room filters', async () => {
    const res = await search(bob, { search_term: 'burgers', event_context: { before_limit: 1, after_limit: 1 } });
    const hit = res.body.search_categories.room_events.results[0];
    assert.equal(hit.context.events_before[0].content.body, 'I want pizza pizza pizza');
    assert.equal(hit.context.events_after[0].content.body, 'pizza place closes at ten');
    const none = await search(alice, { search_term: 'pizza', filter: { rooms: [secret] } });
    assert.equal(none.body.search_categories.room_events.count, 1);
  });

  it('rejects bad requests', async () => {
    assert.equal((await search(bob, { search_term: '' })).status, 400);
    assert.equal((await search(bob, { search_term: 'x', order_by: 'random' })).status, 400);
    assert.equal((await search(bob, { search_term: 'pizza' }, 'bogus')).status, 400);
  });
});
