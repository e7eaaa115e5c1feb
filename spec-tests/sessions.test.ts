import assert from 'node:assert/strict';
import { describeServer } from './harness.ts';

const LOGIN = '/_matrix/client/v3/login';
const WHOAMI = '/_matrix/client/v3/account/whoami';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeServer('login, refresh and logout', { accessTokenLifetimeMs: 1500 }, (srv) => {
  it('GET /login lists the password flow', async () => {
    const res = await srv().request('GET', LOGIN);
    assert.deepEqual(res.body.flows.map((f: { type: string }) => f.type), ['m.login.password', 'm.login.sso', 'm.login.token']);
  });

  it('logs in by localpart, full user id and the legacy user field', async () => {
    const u = await srv().register('frank');
    for (const body of [
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'frank' }, password: u.password },
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@Frank:whisper.test' }, password: u.password },
      { type: 'm.login.password', user: 'frank', password: u.password },
    ]) {
      const res = await srv().request('POST', LOGIN, { body });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user_id, '@frank:whisper.test');
      assert.equal(res.body.well_known['m.homeserver'].base_url, srv().url);
      assert.equal(res.body.expires_in_ms, undefined);
      assert.equal(res.body.refresh_token, undefined);
    }
  });

  it('a wrong password, an unknown user, another server and an unknown login type are refused', async () => {
    const u = await srv().register('gina');
    const wrong = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'gina' }, password: 'nope nope' } });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    const nobody = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: u.password } });
    assert.equal(nobody.status, 403);
    assert.equal(nobody.body.error, wrong.body.error, 'same answer whether the account exists or not');
    const remote = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@gina:elsewhere.org' }, password: u.password } });
    assert.equal(remote.status, 403);
    const sso = await srv().request('POST', LOGIN, { body: { type: 'm.login.sso' } });
    assert.equal(sso.status, 400);
    assert.equal(sso.body.errcode, 'M_UNKNOWN');
  });

  it('re-using a device_id keeps the device and signs out its old token', async () => {
    const u = await srv().register('hank');
    const body = { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'hank' }, password: u.password, device_id: 'PHONE', initial_device_display_name: 'Phone' };
    const a = await srv().request('POST', LOGIN, { body });
    const b = await srv().request('POST', LOGIN, { body });
    assert.equal(a.body.device_id, 'PHONE');
    assert.equal(b.body.device_id, 'PHONE');
    assert.equal((await srv().request('GET', WHOAMI, { token: a.body.access_token })).status, 401);
    assert.equal((await srv().request('GET', WHOAMI, { token: b.body.access_token })).status, 200);
    const devices = await srv().request('GET', '/_matrix/client/v3/devices', { token: b.body.access_token });
    assert.deepEqual(devices.body.devices.filter((d: { device_id: string }) => d.device_id === 'PHONE').length, 1);
  });

  it('missing, malformed and unknown tokens are told apart', async () => {
    const none = await srv().request('GET', WHOAMI);
    assert.equal(none.status, 401);
    assert.equal(none.body.errcode, 'M_MISSING_TOKEN');
    const unknown = await srv().request('GET', WHOAMI, { token: 'wsa_not_a_token' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(unknown.body.soft_logout, false);
    const garbled = await srv().request('GET', WHOAMI, { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
    assert.equal(garbled.body.errcode, 'M_UNKNOWN_TOKEN');
  });

  it('refresh tokens: expiring access tokens, soft logout, rotation', async () => {
    const u = await srv().register('ivy');
    const login = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'ivy' }, password: u.password, refresh_token: true } });
    assert.equal(login.status, 200);
    assert.equal(login.body.expires_in_ms, 1500);
    assert.match(login.body.refresh_token, /^wsr_/);
    assert.equal((await srv().request('GET', WHOAMI, { token: login.body.access_token })).status, 200);

    await sleep(1600);
    const expired = await srv().request('GET', WHOAMI, { token: login.body.access_token });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(expired.body.soft_logout, true);

    const refreshed = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.body.refresh_token } });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token);
    assert.equal(refreshed.body.expires_in_ms, 1500);
    const me = await srv().request('GET', WHOAMI, { token: refreshed.body.access_token });
    assert.equal(me.body.device_id, login.body.device_id, 'same session after refresh');
  });

  it('a refresh whose answer was lost can be retried until the new token is used', async () => {
    const u = await srv().register('jack');
    const login = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', user: 'jack', password: u.password, refresh_token: true } });
    const r1 = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.body.refresh_token } });
    // Response "lost": the client retries with the same refresh token.
    const r2 = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.body.refresh_token } });
    assert.equal(r2.status, 200);
    assert.equal((await srv().request('GET', WHOAMI, { token: r1.body.access_token })).status, 401, 'the superseded answer is void');
    assert.equal((await srv().request('GET', WHOAMI, { token: r2.body.access_token })).status, 200);
    assert.equal((await srv().request('GET', WHOAMI, { token: login.body.access_token })).status, 401, 'using the new token ends the old one');
  });

  it('reusing a spent refresh token revokes the whole session', async () => {
    const u = await srv().register('kate');
    const login = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', user: 'kate', password: u.password, refresh_token: true } });
    const r1 = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.body.refresh_token } });
    assert.equal((await srv().request('GET', WHOAMI, { token: r1.body.access_token })).status, 200);
    // An attacker replays the old, now spent, refresh token.
    const replay = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: login.body.refresh_token } });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.errcode, 'M_UNKNOWN_TOKEN');
    const victim = await srv().request('GET', WHOAMI, { token: r1.body.access_token });
    assert.equal(victim.status, 401, 'the legitimate holder is signed out too');
    const refreshAgain = await srv().request('POST', '/_matrix/client/v3/refresh', { body: { refresh_token: r1.body.refresh_token } });
    assert.equal(refreshAgain.status, 401);
    const devices = await srv().request('GET', '/_matrix/client/v3/devices', { token: u.access_token });
    assert.ok(!devices.body.devices.some((d: { device_id: string }) => d.device_id === login.body.device_id), 'device is gone');
  });

  it('logout ends one session, logout/all ends every one', async () => {
    const u = await srv().register('liam');
    const second = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', user: 'liam', password: u.password } });
    const third = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', user: 'liam', password: u.password } });
    assert.equal((await srv().request('POST', '/_matrix/client/v3/logout', { token: second.body.access_token, body: {} })).status, 200);
    assert.equal((await srv().request('GET', WHOAMI, { token: second.body.access_token })).status, 401);
    assert.equal((await srv().request('GET', WHOAMI, { token: third.body.access_token })).status, 200);
    assert.equal((await srv().request('POST', '/_matrix/client/v3/logout/all', { token: third.body.access_token })).status, 200);
    assert.equal((await srv().request('GET', WHOAMI, { token: third.body.access_token })).status, 401);
    assert.equal((await srv().request('GET', WHOAMI, { token: u.access_token })).status, 401);
  });
});

describeServer('password change and deactivation', {}, (srv) => {
  const passwordAuth = (user: string, password: string, session?: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, session });

  it('changing the password needs the current one and signs other sessions out', async () => {
    const u = await srv().register('mia');
    const other = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'mia', password: u.password } });
    const challenge = await srv().request('POST', '/_matrix/client/v3/account/password', { token: u.access_token, body: { new_password: 'a new password' } });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    const wrong = await srv().request('POST', '/_matrix/client/v3/account/password', { token: u.access_token, body: { new_password: 'a new password', auth: passwordAuth('mia', 'wrong one', challenge.body.session) } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    const ok = await srv().request('POST', '/_matrix/client/v3/account/password', { token: u.access_token, body: { new_password: 'a new password', auth: passwordAuth('mia', u.password, challenge.body.session) } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await srv().request('GET', WHOAMI, { token: u.access_token })).status, 200, 'this session stays');
    assert.equal((await srv().request('GET', WHOAMI, { token: other.body.access_token })).status, 401, 'others end');
    const oldLogin = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'mia', password: u.password } });
    assert.equal(oldLogin.status, 403);
    const newLogin = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'mia', password: 'a new password' } });
    assert.equal(newLogin.status, 200);
  });

  it('logout_devices: false keeps the other sessions', async () => {
    const u = await srv().register('noah');
    const other = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'noah', password: u.password } });
    const ok = await srv().request('POST', '/_matrix/client/v3/account/password', { token: u.access_token, body: { new_password: 'another password', logout_devices: false, auth: passwordAuth('noah', u.password) } });
    assert.equal(ok.status, 200);
    assert.equal((await srv().request('GET', WHOAMI, { token: other.body.access_token })).status, 200);
  });

  it("UIA for one user cannot be completed with another user's password", async () => {
    const a = await srv().register('olga');
    const b = await srv().register('pete');
    const res = await srv().request('POST', '/_matrix/client/v3/account/password', { token: a.access_token, body: { new_password: 'hijacked pw', auth: passwordAuth('pete', b.password) } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  it('deactivation signs out everywhere and the account cannot sign in again', async () => {
    const u = await srv().register('quinn');
    const res = await srv().request('POST', '/_matrix/client/v3/account/deactivate', { token: u.access_token, body: { auth: passwordAuth('quinn', u.password) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.id_server_unbind_result, 'no-support');
    assert.equal((await srv().request('GET', WHOAMI, { token: u.access_token })).status, 401);
    const login = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'quinn', password: u.password } });
    assert.equal(login.status, 403);
    const again = await srv().request('GET', '/_matrix/client/v3/register/available?username=quinn');
    assert.equal(again.body.errcode, 'M_USER_IN_USE', 'a deactivated id is never handed out again');
  });
});

describeServer('devices', {}, (srv) => {
  it('lists devices with last-seen IP, user agent and time; renames; deletes with UIA', async () => {
    const u = await srv().register('rose');
    const phone = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', user: 'rose', password: u.password, initial_device_display_name: 'Phone' },
      headers: { 'User-Agent': 'WhisperTest/1.0' },
    });
    const list = await srv().request('GET', '/_matrix/client/v3/devices', { token: u.access_token });
    assert.equal(list.body.devices.length, 2);
    const p = list.body.devices.find((d: { device_id: string }) => d.device_id === phone.body.device_id);
    assert.equal(p.display_name, 'Phone');
    assert.equal(p.last_seen_ip, '127.0.0.1');
    assert.equal(p['org.whisper.last_seen_user_agent'], 'WhisperTest/1.0');
    assert.ok(Math.abs(p.last_seen_ts - Date.now()) < 60_000);

    const rename = await srv().request('PUT', `/_matrix/client/v3/devices/${phone.body.device_id}`, { token: u.access_token, body: { display_name: 'Old phone' } });
    assert.equal(rename.status, 200);
    const one = await srv().request('GET', `/_matrix/client/v3/devices/${phone.body.device_id}`, { token: u.access_token });
    assert.equal(one.body.display_name, 'Old phone');

    const unknown = await srv().request('GET', '/_matrix/client/v3/devices/NOSUCH', { token: u.access_token });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');

    const challenge = await srv().request('DELETE', `/_matrix/client/v3/devices/${phone.body.device_id}`, { token: u.access_token, body: {} });
    assert.equal(challenge.status, 401);
    const del = await srv().request('DELETE', `/_matrix/client/v3/devices/${phone.body.device_id}`, {
      token: u.access_token,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: u.user_id }, password: u.password, session: challenge.body.session } },
    });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal((await srv().request('GET', WHOAMI, { token: phone.body.access_token })).status, 401);
  });

  it("cannot see or delete another user's device", async () => {
    const a = await srv().register('sam');
    const b = await srv().register('tess');
    const peek = await srv().request('GET', `/_matrix/client/v3/devices/${b.device_id}`, { token: a.access_token });
    assert.equal(peek.status, 404);
    const del = await srv().request('POST', '/_matrix/client/v3/delete_devices', {
      token: a.access_token,
      body: { devices: [b.device_id], auth: { type: 'm.login.password', user: 'sam', password: a.password } },
    });
    assert.equal(del.status, 200);
    assert.equal((await srv().request('GET', WHOAMI, { token: b.access_token })).status, 200);
  });

  it('delete_devices removes several sessions at once', async () => {
    const u = await srv().register('uma');
    const logins = await Promise.all([1, 2].map(() => srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'uma', password: u.password } })));
    const del = await srv().request('POST', '/_matrix/client/v3/delete_devices', {
      token: u.access_token,
      body: { devices: logins.map((l) => l.body.device_id), auth: { type: 'm.login.password', user: 'uma', password: u.password } },
    });
    assert.equal(del.status, 200);
    const list = await srv().request('GET', '/_matrix/client/v3/devices', { token: u.access_token });
    assert.deepEqual(list.body.devices.map((d: { device_id: string }) => d.device_id), [u.device_id]);
  });
});

describeServer('profiles', {}, (srv) => {
  it('shows and changes the own display name and avatar', async () => {
    const u = await srv().register('vera');
    const initial = await srv().request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(u.user_id)}`);
    assert.deepEqual(initial.body, { displayname: 'vera' });
    assert.equal((await srv().request('PUT', `/_matrix/client/v3/profile/${u.user_id}/displayname`, { token: u.access_token, body: { displayname: 'Vera V.' } })).status, 200);
    assert.equal((await srv().request('PUT', `/_matrix/client/v3/profile/${u.user_id}/avatar_url`, { token: u.access_token, body: { avatar_url: 'mxc://whisper.test/abc123' } })).status, 200);
    const after = await srv().request('GET', `/_matrix/client/v3/profile/${u.user_id}`);
    assert.deepEqual(after.body, { displayname: 'Vera V.', avatar_url: 'mxc://whisper.test/abc123' });
    const name = await srv().request('GET', `/_matrix/client/v3/profile/${u.user_id}/displayname`);
    assert.deepEqual(name.body, { displayname: 'Vera V.' });
    const badAvatar = await srv().request('PUT', `/_matrix/client/v3/profile/${u.user_id}/avatar_url`, { token: u.access_token, body: { avatar_url: 'https://evil.example/x.png' } });
    assert.equal(badAvatar.body.errcode, 'M_INVALID_PARAM');
  });

  it("refuses to change someone else's profile; unknown users are 404", async () => {
    const a = await srv().register('walt');
    const b = await srv().register('xena');
    const res = await srv().request('PUT', `/_matrix/client/v3/profile/${b.user_id}/displayname`, { token: a.access_token, body: { displayname: 'pwned' } });
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    const missing = await srv().request('GET', '/_matrix/client/v3/profile/@ghost:whisper.test');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errcode, 'M_NOT_FOUND');
  });
});

describeServer('rate limits', { rateLimits: { loginPerIp: { points: 3, durationSec: 60 } } }, (srv) => {
  it('answers M_LIMIT_EXCEEDED with retry_after_ms and Retry-After once the budget is spent', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await srv().request('POST', LOGIN, { body: { type: 'm.login.password', user: 'nobody', password: 'whatever1' } });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
    assert.equal(last!.body.errcode, 'M_LIMIT_EXCEEDED');
    assert.ok(last!.body.retry_after_ms > 0 && last!.body.retry_after_ms <= 60_000);
    assert.ok(Number(last!.headers.get('retry-after')) >= 1);
  });
});
