/**
 * The audit log through the HTTP API: each act leaves its entry (with IP, user agent and
 * device), owners read only their own, admins everyone's, paging and filters, append-only
 * storage, and exports of 100,000 rows as JSON and CSV read with flat memory.
 */
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { runAdminCommand } from '../homeserver/admin/commands.ts';
import { describeServer, type TestServer, type TestUser } from './harness.ts';
import { ok } from './friendsHelpers.ts';

const OWN = '/_whisper/client/v1/audit';
const ADMIN = '/_whisper/admin/v1/audit';
const UA = 'AuditTest/1.0';

async function login(srv: TestServer, user: string, password: string, extra: Record<string, unknown> = {}) {
  return srv.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra },
    headers: { 'User-Agent': UA },
  });
}

async function kinds(srv: TestServer, token: string, query = ''): Promise<string[]> {
  const res = await srv.request('GET', `${OWN}?limit=1000${query}`, { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.entries.map((e: { kind: string }) => e.kind);
}

/** Reads a streamed body chunk by chunk, calling `onChunk`; returns the whole text length. */
async function readStream(res: Response, onChunk: (text: string) => void): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onChunk(value);
  }
}

describeServer('audit log', {}, (srv) => {
  let admin: TestUser;
  let bob: TestUser;

  before(async () => {
    admin = await srv().register('root'); // the first account is the server's admin
    bob = await srv().register('bob');
  });

  it('records registration and each sign-in, failed or not, with where it came from', async () => {
    const ok = await login(srv(), 'bob', bob.password);
    assert.equal(ok.status, 200);
    assert.equal((await login(srv(), 'bob', 'wrong password!')).status, 403);
    assert.equal((await login(srv(), 'nobody-here', 'whatever1')).status, 403);
    const res = await srv().request('GET', `${OWN}?limit=10`, { token: bob.access_token });
    const [failed, signedIn, registered] = res.body.entries;
    assert.equal(registered.kind, 'account.register');
    assert.equal(registered.device_id, bob.device_id);
    assert.equal(signedIn.kind, 'login');
    assert.equal(signedIn.device_id, ok.body.device_id);
    assert.equal(signedIn.ip, '127.0.0.1');
    assert.equal(signedIn.user_agent, UA);
    assert.deepEqual(signedIn.details, { method: 'password' });
    assert.equal(failed.kind, 'login.failed');
    assert.deepEqual(failed.details, { reason: 'wrong password' });
    assert.equal(res.body.entries.length, 3, 'a failure for an unknown name is not in bob\'s log');
    // ... but an admin sees it, with the name that was tried.
    const all = await srv().request('GET', `${ADMIN}?kind=login.failed`, { token: admin.access_token });
    const unknown = all.body.entries.find((e: { user_id: string | null }) => e.user_id === null);
    assert.deepEqual(unknown.details, { reason: 'unknown user', user: 'nobody-here' });
  });

  it('records logout, device deletion, password change and token reuse', async () => {
    const carol = await srv().register('carol');
    const second = await login(srv(), 'carol', carol.password);
    const third = await login(srv(), 'carol', carol.password, { refresh_token: true });
    await srv().request('POST', '/_matrix/client/v3/logout', { token: second.body.access_token, body: {} });
    const del = await srv().request('DELETE', `/_matrix/client/v3/devices/${third.body.device_id}`, {
      token: carol.access_token,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: carol.password } },
    });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const fourth = await login(srv(), 'carol', carol.password, { refresh_token: true });
    const refreshed = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: fourth.body.refresh_token } });
    await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: refreshed.body.access_token });
    const reuse = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: fourth.body.refresh_token } });
    assert.equal(reuse.status, 401);
    const pw = await srv().request('POST', '/_matrix/client/v3/account/password', {
      token: carol.access_token,
      body: { new_password: 'another long password', auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: carol.password } },
    });
    assert.equal(pw.status, 200, JSON.stringify(pw.body));
    const log = await kinds(srv(), carol.access_token);
    assert.deepEqual(log, ['password.change', 'token.refresh_reuse', 'login', 'device.delete', 'logout', 'login', 'login', 'account.register']);
    const entries = (await srv().request('GET', `${OWN}?kind=device.delete,logout`, { token: carol.access_token })).body.entries;
    assert.deepEqual(entries[0].details, { devices: [third.body.device_id] });
    assert.equal(entries[0].device_id, carol.device_id, 'the device that did the deleting');
    assert.equal(entries[1].device_id, second.body.device_id);
  });

  it('records admin acts from the command line, and deactivation', async () => {
    const dave = await srv().register('dave');
    await runAdminCommand(srv().hs.services, ['user', 'make-admin', dave.user_id]);
    await runAdminCommand(srv().hs.services, ['user', 'reset-password', dave.user_id, '--password', 'reset by the admin']);
    const res = await srv().request('GET', ADMIN, { token: admin.access_token });
    const forDave = res.body.entries.filter((e: { user_id: string }) => e.user_id === dave.user_id);
    assert.deepEqual(forDave.slice(0, 2).map((e: { kind: string; actor: string }) => [e.kind, e.actor]), [
      ['password.reset', 'admin-cli'],
      ['admin.make_admin', 'admin-cli'],
    ]);
    await runAdminCommand(srv().hs.services, ['registration-token', 'create', '--token', 'secret-token-value']);
    const tokens = await srv().request('GET', `${ADMIN}?kind=admin.token_create`, { token: admin.access_token });
    assert.equal(tokens.body.entries[0].details.token, 'secr…', 'the log never holds a whole token');

    const erin = await srv().register('erin');
    const deact = await srv().request('POST', '/_matrix/client/v3/account/deactivate', {
      token: erin.access_token,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'erin' }, password: erin.password } },
    });
    assert.equal(deact.status, 200);
    const erinLog = await srv().request('GET', `${ADMIN}?user_id=${encodeURIComponent(erin.user_id)}`, { token: admin.access_token });
    assert.deepEqual(erinLog.body.entries.map((e: { kind: string }) => e.kind), ['account.deactivate', 'account.register']);
  });

  it('pages newest first, filters by kind and time, and keeps owners to their own log', async () => {
    const first = await srv().request('GET', `${OWN}?limit=2`, { token: bob.access_token });
    assert.equal(first.body.entries.length, 2);
    assert.ok(first.body.next_batch);
    const rest = await srv().request('GET', `${OWN}?limit=2&from=${first.body.next_batch}`, { token: bob.access_token });
    assert.equal(rest.body.entries.length, 1);
    assert.equal(rest.body.next_batch, undefined);
    assert.ok(Number(rest.body.entries[0].id) < Number(first.body.entries[1].id));
    const future = await srv().request('GET', `${OWN}?from_ts=${Date.now() + 60_000}`, { token: bob.access_token });
    assert.deepEqual(future.body.entries, []);
    const past = await srv().request('GET', `${OWN}?to_ts=1`, { token: bob.access_token });
    assert.deepEqual(past.body.entries, []);

    const notAdmin = await srv().request('GET', ADMIN, { token: bob.access_token });
    assert.equal(notAdmin.status, 403);
    assert.equal(notAdmin.body.errcode, 'M_FORBIDDEN');
    assert.equal((await srv().request('GET', `${ADMIN}/export`, { token: bob.access_token })).status, 403);
    const other = await srv().request('GET', `${OWN}?user_id=${encodeURIComponent(admin.user_id)}`, { token: bob.access_token });
    assert.equal(other.status, 400);
    for (const bad of ['limit=0', 'limit=5000', 'limit=x', 'kind=DROP%20TABLE', 'from=-1', 'format=xml']) {
      const res = await srv().request('GET', `${OWN}?${bad}`, { token: bob.access_token });
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM', bad);
    }
  });

  it('records friend and block acts for the account that made them', async () => {
    const fay = await srv().register('fay');
    const gus = await srv().register('gus');
    const hal = await srv().register('hal');
    await ok(srv(), fay, 'POST', '/friends/requests', { user_id: gus.user_id });
    await ok(srv(), gus, 'POST', `/friends/requests/${encodeURIComponent(fay.user_id)}/accept`);
    await ok(srv(), fay, 'DELETE', `/friends/${encodeURIComponent(gus.user_id)}`);
    await ok(srv(), hal, 'POST', '/friends/requests', { user_id: fay.user_id });
    await ok(srv(), fay, 'POST', `/friends/requests/${encodeURIComponent(hal.user_id)}/decline`);
    await ok(srv(), fay, 'PUT', `/blocks/${encodeURIComponent(hal.user_id)}`);
    await ok(srv(), fay, 'DELETE', `/blocks/${encodeURIComponent(hal.user_id)}`);
    const acts = async (u: TestUser) => (await srv().request('GET', `${OWN}?kind=friend.request,friend.accept,friend.decline,friend.remove,block.add,block.remove`, { token: u.access_token }))
      .body.entries.map((e: { kind: string; details: { user: string } }) => [e.kind, e.details.user]);
    assert.deepEqual(await acts(fay), [
      ['block.remove', hal.user_id], ['block.add', hal.user_id], ['friend.decline', hal.user_id], ['friend.remove', gus.user_id], ['friend.request', gus.user_id],
    ]);
    assert.deepEqual(await acts(gus), [['friend.accept', fay.user_id]]);
    assert.deepEqual(await acts(hal), [['friend.request', fay.user_id]]);
  });

  it('is append-only in the database itself', async () => {
    const db = srv().hs.database.db;
    await assert.rejects(db('audit_log').update({ kind: 'forged' }), /append-only/);
  });

  it('exports 100,000 rows as JSON and as CSV, streamed with flat memory', async function () {
    this.timeout(180_000);
    const exporter = await srv().register('exporter');
    const db = srv().hs.database.db;
    await db.raw(
      `INSERT INTO audit_log (user_id, kind, ts, ip, user_agent, device_id, details)
       SELECT ?, 'login', ?::bigint + n, '127.0.0.1', CASE WHEN n = 7 THEN '=HYPERLINK("x")' ELSE 'agent ' || n END, 'DEV', jsonb_build_object('n', n)
       FROM generate_series(1, 100000) AS n`,
      [exporter.user_id, Date.now() - 200_000],
    );
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };

    for (const format of ['json', 'csv'] as const) {
      // Measured from before the request: a server that gathered the rows before answering
      // would hold them all by the time the headers arrive.
      const baseline = heap();
      const res = await fetch(`${srv().url}${OWN}/export?format=${format}`, { headers: { Authorization: `Bearer ${exporter.access_token}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition')!, new RegExp(`attachment; filename="whisper-audit-.*\\.${format}"`));
      assert.equal(res.headers.get('content-length'), null, 'streamed, not assembled first');
      let peak = heap() - baseline;
      let lines = 0;
      let bytes = 0;
      let tail = '';
      let sawFormula = false;
      await readStream(res, (text) => {
        bytes += text.length;
        const parts = (tail + text).split('\n');
        tail = parts.pop()!;
        for (const line of parts) {
          if (format === 'json' ? line.startsWith('{') || line.startsWith(',{') : /^\d/.test(line)) lines++;
          if (line.includes(`'=HYPERLINK`)) sawFormula = true;
        }
        if (lines % 10_000 < 50) peak = Math.max(peak, heap() - baseline);
      });
      assert.equal(lines, 100_001, `${format}: every row (and the registration)`);
      assert.ok(bytes > 10_000_000, `${format}: ${bytes} bytes`);
      if (format === 'csv') assert.ok(sawFormula, 'a formula-looking cell is defused');
      // Holding the rows (or the text) would cost well over 20 MB here.
      assert.ok(peak < 12 * 1024 * 1024, `${format}: heap grew ${Math.round(peak / 1024 / 1024)} MB while streaming ${Math.round(bytes / 1e6)} MB`);
    }
    const json = await fetch(`${srv().url}${OWN}/export?format=json&kind=account.register`, { headers: { Authorization: `Bearer ${exporter.access_token}` } });
    const parsed = JSON.parse(await json.text());
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0].kind, 'account.register');
  });
});

describeServer('audit log retention', { auditRetentionDays: 30 }, (srv) => {
  it('the housekeeping sweep deletes entries older than the retention', async () => {
    const user = await srv().register('old');
    const db = srv().hs.database.db;
    await db('audit_log').insert({ user_id: user.user_id, kind: 'login', ts: Date.now() - 31 * 86_400_000, details: '{}' });
    assert.equal((await srv().request('GET', OWN, { token: user.access_token })).body.entries.length, 2);
    assert.equal(await srv().hs.services.audit.prune(), 1);
    const left = await srv().request('GET', OWN, { token: user.access_token });
    assert.deepEqual(left.body.entries.map((e: { kind: string }) => e.kind), ['account.register']);
  });
});
