import assert from 'node:assert/strict';
import { describeServer } from './harness.ts';

const REGISTER = '/_matrix/client/v3/register';

describeServer('registration (open policy)', { registration: 'open' }, (srv) => {
  it('first call answers the UIA challenge, then the dummy stage registers and signs in', async () => {
    const first = await srv().request('POST', REGISTER, { body: {} });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.dummy'] }]);
    assert.equal(typeof first.body.session, 'string');
    assert.equal(first.body.errcode, undefined);
    const done = await srv().request('POST', REGISTER, {
      body: { username: 'Alice', password: 'long enough pw', initial_device_display_name: 'Laptop', auth: { type: 'm.login.dummy', session: first.body.session } },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.user_id, '@alice:whisper.test');
    assert.match(done.body.access_token, /^wsa_/);
    const me = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: done.body.access_token });
    assert.deepEqual(me.body, { user_id: '@alice:whisper.test', device_id: done.body.device_id, is_guest: false });
    const device = await srv().request('GET', `/_matrix/client/v3/devices/${done.body.device_id}`, { token: done.body.access_token });
    assert.equal(device.body.display_name, 'Laptop');
  });

  it('the UIA session cannot be reused after registering', async () => {
    const first = await srv().request('POST', REGISTER, { body: {} });
    const auth = { type: 'm.login.dummy', session: first.body.session };
    const ok = await srv().request('POST', REGISTER, { body: { username: 'once', password: 'long enough pw', auth } });
    assert.equal(ok.status, 200);
    const again = await srv().request('POST', REGISTER, { body: { username: 'twice', password: 'long enough pw', auth } });
    assert.equal(again.status, 400);
    assert.equal(again.body.errcode, 'M_UNKNOWN');
  });

  it('/register/available tells taken, invalid and free names apart', async () => {
    await srv().register('bob');
    const taken = await srv().request('GET', '/_matrix/client/v3/register/available?username=bob');
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    const bad = await srv().request('GET', '/_matrix/client/v3/register/available?username=no%20spaces');
    assert.equal(bad.body.errcode, 'M_INVALID_USERNAME');
    const free = await srv().request('GET', '/_matrix/client/v3/register/available?username=carol');
    assert.deepEqual(free.body, { available: true });
    const missing = await srv().request('GET', '/_matrix/client/v3/register/available');
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });

  it('rejects taken and invalid usernames, weak passwords and guests', async () => {
    await srv().register('dave');
    const auth = { type: 'm.login.dummy' };
    const taken = await srv().request('POST', REGISTER, { body: { username: 'dave', password: 'long enough pw', auth } });
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    const invalid = await srv().request('POST', REGISTER, { body: { username: 'dä ve', password: 'long enough pw', auth } });
    assert.equal(invalid.body.errcode, 'M_INVALID_USERNAME');
    const weak = await srv().request('POST', REGISTER, { body: { username: 'erin', password: 'short', auth } });
    assert.equal(weak.body.errcode, 'M_WEAK_PASSWORD');
    const guest = await srv().request('POST', `${REGISTER}?kind=guest`, { body: {} });
    assert.equal(guest.status, 403);
    assert.equal(guest.body.errcode, 'M_GUEST_ACCESS_FORBIDDEN');
  });

  it('inhibit_login creates the account without a session; a missing username is generated', async () => {
    const r = await srv().request('POST', REGISTER, { body: { password: 'long enough pw', inhibit_login: true, auth: { type: 'm.login.dummy' } } });
    assert.equal(r.status, 200);
    assert.match(r.body.user_id, /^@user\d+:whisper\.test$/);
    assert.equal(r.body.access_token, undefined);
  });
});

describeServer('registration (invite policy)', { registration: 'invite' }, (srv) => {
  let admin: { access_token: string; user_id: string };

  it('the first account registers freely and becomes admin', async () => {
    admin = await srv().register('founder');
    const row = await srv().hs.services.accounts.getUser(admin.user_id);
    assert.equal(row?.is_admin, true);
  });

  it('after it, registration asks for a registration token', async () => {
    const first = await srv().request('POST', REGISTER, { body: {} });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.registration_token'] }]);
    const bad = await srv().request('POST', REGISTER, {
      body: { username: 'intruder', password: 'long enough pw', auth: { type: 'm.login.registration_token', token: 'nope', session: first.body.session } },
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.errcode, 'M_FORBIDDEN');
    const dummy = await srv().request('POST', REGISTER, {
      body: { username: 'intruder', password: 'long enough pw', auth: { type: 'm.login.dummy', session: first.body.session } },
    });
    assert.equal(dummy.status, 401);
    assert.equal(dummy.body.errcode, 'M_UNRECOGNIZED');
  });

  it('a single-use token carries exactly one registration, even when raced', async () => {
    const { token } = await srv().hs.services.registrationTokens.create({ usesAllowed: 1 });
    const valid = await srv().request('GET', `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`);
    assert.deepEqual(valid.body, { valid: true });
    const results = await Promise.allSettled([
      srv().register('friend1', { registrationToken: token }),
      srv().register('friend2', { registrationToken: token }),
      srv().register('friend3', { registrationToken: token }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status === 'rejected' ? String(r.reason) : 'ok')));
    const after = await srv().request('GET', `/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`);
    assert.deepEqual(after.body, { valid: false });
    const listed = (await srv().hs.services.registrationTokens.list()).find((t) => t.token === token);
    assert.equal(listed?.completed, 1);
  });

  it('a revoked or expired token does not register', async () => {
    const revoked = await srv().hs.services.registrationTokens.create({});
    await srv().hs.services.registrationTokens.revoke(revoked.token);
    await assert.rejects(srv().register('late1', { registrationToken: revoked.token }), /401/);
    const expired = await srv().hs.services.registrationTokens.create({ expiryTime: Date.now() - 1 });
    await assert.rejects(srv().register('late2', { registrationToken: expired.token }), /401/);
    const open = await srv().hs.services.registrationTokens.create({});
    const user = await srv().register('welcome', { registrationToken: open.token });
    assert.equal(user.user_id, '@welcome:whisper.test');
    const row = await srv().hs.services.accounts.getUser(user.user_id);
    assert.equal(row?.is_admin, false);
  });
});

describeServer('registration (closed policy)', { registration: 'closed' }, (srv) => {
  it('refuses registration with M_FORBIDDEN', async () => {
    const res = await srv().request('POST', REGISTER, { body: {} });
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });
});
