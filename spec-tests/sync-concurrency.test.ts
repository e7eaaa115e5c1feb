/**
 * Many senders, many long-polling receivers: every receiver sees every message exactly once,
 * in the order /messages gives, on one server and across two server processes sharing
 * PostgreSQL. Retried transaction ids give the same event id.
 */
import assert from 'node:assert/strict';
import { buildConfig } from '../homeserver/config.ts';
import { createLogger } from '../homeserver/logging.ts';
import { startHomeserver } from '../homeserver/main.ts';
import { backends, startTestServer, type TestServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const SENDERS = 8;
const PER_SENDER = 50;
const RECEIVERS = 4;

interface Endpoint {
  url: string;
}

async function call(base: Endpoint, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(base.url + path, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A receiver as a careful client: long-polls, and fills limited gaps from prev_batch. */
async function receive(base: Endpoint, user: TestUser, roomId: string, want: number, since: string, deadline: number): Promise<string[]> {
  const seen: string[] = [];
  let token = since;
  while (seen.length < want && Date.now() < deadline) {
    const sync = await call(base, 'GET', `${C}/sync?since=${token}&timeout=2000`, user.access_token);
    const room = sync.rooms.join[roomId];
    if (room) {
      let events = room.timeline.events;
      if (room.timeline.limited) {
        // Fetch what the limited timeline skipped: back from prev_batch to our last token.
        const gap: any[] = [];
        let from = room.timeline.prev_batch;
        for (;;) {
          const page = await call(base, 'GET', `${C}/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100&from=${from}&to=${token}`, user.access_token);
          gap.unshift(...page.chunk.reverse());
          if (!page.end) break;
          from = page.end;
        }
        events = [...gap, ...events];
      }
      for (const e of events) if (e.type === 'm.room.message') seen.push(e.event_id);
    }
    token = sync.next_batch;
  }
  return seen;
}

async function runScenario(senderBases: Endpoint[], receiverBases: Endpoint[], srv: TestServer): Promise<void> {
  const users: TestUser[] = [];
  for (let i = 0; i < SENDERS + RECEIVERS; i++) users.push(await srv.register());
  const owner = users[0];
  const room = await call(srv, 'POST', `${C}/createRoom`, owner.access_token, { preset: 'public_chat' });
  const roomId: string = room.room_id;
  for (const u of users.slice(1)) await call(srv, 'POST', `${C}/join/${encodeURIComponent(roomId)}`, u.access_token, {});
  const senders = users.slice(0, SENDERS);
  const receivers = users.slice(SENDERS);

  const starts = await Promise.all(receivers.map((u, i) => call(receiverBases[i % receiverBases.length], 'GET', `${C}/sync`, u.access_token)));
  const deadline = Date.now() + 60_000;
  const receiving = receivers.map((u, i) => receive(receiverBases[i % receiverBases.length], u, roomId, SENDERS * PER_SENDER, starts[i].next_batch, deadline));

  const sent = await Promise.all(
    senders.map(async (u, i) => {
      const base = senderBases[i % senderBases.length];
      const ids: string[] = [];
      for (let n = 0; n < PER_SENDER; n++) {
        const path = `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn-${n}`;
        const body = { msgtype: 'm.text', body: `${i}:${n}` };
        if (n % 10 === 0) {
          // A client retrying a send whose answer it never got, at the same moment.
          const [a, b] = await Promise.all([call(base, 'PUT', path, u.access_token, body), call(base, 'PUT', path, u.access_token, body)]);
          assert.equal(a.event_id, b.event_id, 'a retried transaction id gives the same event');
          ids.push(a.event_id);
        } else {
          ids.push((await call(base, 'PUT', path, u.access_token, body)).event_id);
        }
      }
      return ids;
    }),
  );
  const allSent = sent.flat();
  assert.equal(new Set(allSent).size, SENDERS * PER_SENDER);

  const history: string[] = [];
  let from: string | undefined;
  for (;;) {
    const page = await call(srv, 'GET', `${C}/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=100${from ? `&from=${from}` : ''}`, owner.access_token);
    history.push(...page.chunk.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.event_id));
    if (!page.end) break;
    from = page.end;
  }
  assert.equal(history.length, SENDERS * PER_SENDER, '/messages has every message once');
  assert.deepEqual(new Set(history), new Set(allSent));

  const received = await Promise.all(receiving);
  received.forEach((seen, i) => {
    assert.equal(new Set(seen).size, seen.length, `receiver ${i} saw no event twice`);
    assert.deepEqual(seen, history, `receiver ${i} saw every message, in the order /messages gives`);
  });
}

for (const backend of backends()) {
  describe(`sync under concurrent senders [${backend.name}]`, function () {
    this.timeout(120_000);
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer(backend);
    });
    after(() => srv?.close());

    it(`${SENDERS} senders x ${PER_SENDER} messages, ${RECEIVERS} long-polling receivers`, async () => {
      await runScenario([srv], [srv], srv);
    });
  });
}

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe('sync across two server processes on one PostgreSQL', function () {
    this.timeout(120_000);
    let a: TestServer;
    let b: { url: string; close(): Promise<void> };
    before(async () => {
      a = await startTestServer(backend);
      b = await startHomeserver(buildConfig({ ...a.config, port: 0, publicUrl: undefined }), createLogger('silent'));
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('senders and receivers split across both processes see the same, complete history', async () => {
      await runScenario([a, b], [b, a], a);
    });

    it('a message sent through A wakes a long-poll on B', async () => {
      const alice = await a.register();
      const room = await call(a, 'POST', `${C}/createRoom`, alice.access_token, {});
      const start = await call(b, 'GET', `${C}/sync`, alice.access_token);
      const poll = call(b, 'GET', `${C}/sync?since=${start.next_batch}&timeout=20000`, alice.access_token);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      const sent = await call(a, 'PUT', `${C}/rooms/${encodeURIComponent(room.room_id)}/send/m.room.message/x`, alice.access_token, { msgtype: 'm.text', body: 'across' });
      const woke = await poll;
      assert.ok(Date.now() - t0 < 5000, 'woken promptly, not by the timeout');
      assert.deepEqual(woke.rooms.join[room.room_id].timeline.events.map((e: any) => e.event_id), [sent.event_id]);
    });
  });
}
