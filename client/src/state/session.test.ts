import assert from 'node:assert/strict';
import { describeServer } from '../../../spec-tests/harness.ts';
import { AuthError, normaliseServerUrl, SessionStore, type KeyValueStore } from './session.ts';

/** What localStorage is to the browser: a string map. */
function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

describe('server addresses', () => {
  it('adds https:// and drops trailing slashes; rejects what is not an address', () => {
    assert.equal(normaliseServerUrl('chat.example.org/'), 'https://chat.example.org');
    assert.equal(normaliseServerUrl(' http://127.0.0.1:8008 '), 'http://127.0.0.1:8008');
    assert.throws(() => normaliseServerUrl(''), AuthError);
    assert.throws(() => normaliseServerUrl('http://exa mple'), AuthError);
  });
});

describeServer('session store (registration, login, logout)', { registration: 'invite' }, (srv) => {
  it('the first account registers without an invite code, and the server URL is remembered', async () => {
    const store = memoryStore();
    const sessions = new SessionStore(store, 'http://default.invalid');
    assert.equal(sessions.serverUrl, 'http://default.invalid');
    const flows = await sessions.registrationFlows(srv().url);
    assert.deepEqual(flows, { needsInviteCode: false, stages: ['m.login.dummy'] });
    const s = await sessions.register(srv().url, 'founder', 'long enough pw');
    assert.equal(s.userId, '@founder:whisper.test');
    assert.equal(sessions.serverUrl, srv().url);
    assert.deepEqual(new SessionStore(store, 'x').load(), s, 'a new page load resumes the session');
    const me = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: s.accessToken });
    assert.equal(me.body.user_id, s.userId);
  });

  it('later accounts need the invite code (registration token): refused without or with a wrong one', async () => {
    const sessions = new SessionStore(memoryStore(), srv().url);
    assert.equal((await sessions.registrationFlows(srv().url)).needsInviteCode, true);
    await assert.rejects(sessions.register(srv().url, 'friend', 'long enough pw'), (e: AuthError) => e.errcode === 'W_NEED_INVITE');
    await assert.rejects(sessions.register(srv().url, 'friend', 'long enough pw', 'wrong'), (e: AuthError) => e.errcode === 'M_FORBIDDEN');
    const { token } = await srv().hs.services.registrationTokens.create({ usesAllowed: 1 });
    const s = await sessions.register(srv().url, 'friend', 'long enough pw', token);
    assert.equal(s.userId, '@friend:whisper.test');
    await assert.rejects(sessions.register(srv().url, 'friend2', 'long enough pw', token), (e: AuthError) => e.status === 401);
  });

  it('signs in with a password, reports bad passwords, and signing out ends the session on the server', async () => {
    const store = memoryStore();
    const sessions = new SessionStore(store, srv().url);
    await assert.rejects(sessions.login(srv().url, 'founder', 'wrong password'), (e: AuthError) => e.errcode === 'M_FORBIDDEN');
    const s = await sessions.login(srv().url, 'founder', 'long enough pw');
    assert.equal(s.userId, '@founder:whisper.test');
    await sessions.logout(s);
    assert.equal(sessions.load(), undefined);
    const me = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: s.accessToken });
    assert.equal(me.body.errcode, 'M_UNKNOWN_TOKEN');
  });

  it('an unreachable server or a non-Matrix page is a readable error', async () => {
    const sessions = new SessionStore(memoryStore(), srv().url);
    await assert.rejects(sessions.login('http://127.0.0.1:1', 'a', 'b'), (e: AuthError) => e.errcode === 'W_UNREACHABLE');
  });
});
