/** Start-up calls: TURN credentials in coturn's scheme, pushers, third-party protocols, 3PIDs. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { turnCredentials } from '../homeserver/services/clientSupport.ts';
import { describeServer, type TestUser } from './harness.ts';

const C = '/_matrix/client/v3';
const SECRET = 'a-long-random-coturn-secret';

describe('TURN credentials (coturn use-auth-secret)', () => {
  it('username is "<expiry>:<user>" and the password its HMAC-SHA1 with the secret, base64', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    const c = turnCredentials('north', '@alice:example.org', 3600, now);
    assert.equal(c.username, `${now / 1000 + 3600}:@alice:example.org`);
    // The value coturn computes for the same inputs (RFC 2104 HMAC-SHA1, base64):
    assert.equal(c.password, createHmac('sha1', 'north').update(c.username).digest('base64'));
    assert.equal(Buffer.from(c.password, 'base64').length, 20);
  });
});

describeServer('client start-up calls', { turnUris: ['turn:turn.whisper.test:3478?transport=udp', 'turns:turn.whisper.test:5349'], turnSecret: SECRET, turnTtlSec: 600 }, (srv) => {
  let alice: TestUser;
  before(async () => {
    alice = await srv().register('alice');
  });

  it('/voip/turnServer hands out time-limited credentials', async () => {
    const res = await srv().request('GET', `${C}/voip/turnServer`, { token: alice.access_token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.uris, ['turn:turn.whisper.test:3478?transport=udp', 'turns:turn.whisper.test:5349']);
    assert.equal(res.body.ttl, 600);
    const [expiry, user] = [Number(res.body.username.split(':')[0]), res.body.username.slice(res.body.username.indexOf(':') + 1)];
    assert.equal(user, alice.user_id);
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 600)) < 5);
    assert.equal(res.body.password, createHmac('sha1', SECRET).update(res.body.username).digest('base64'));
  });

  it('pushers are stored, replaced, listed and removed', async () => {
    const pusher = { app_id: 'org.whisper.desktop', pushkey: 'key1', kind: 'http', app_display_name: 'Whisper', device_display_name: 'Laptop', lang: 'en', data: { url: 'https://push.example.org/_matrix/push/v1/notify' } };
    assert.equal((await srv().request('POST', `${C}/pushers/set`, { token: alice.access_token, body: pusher })).status, 200);
    let list = await srv().request('GET', `${C}/pushers`, { token: alice.access_token });
    assert.equal(list.body.pushers.length, 1);
    assert.equal(list.body.pushers[0].device_display_name, 'Laptop');
    await srv().request('POST', `${C}/pushers/set`, { token: alice.access_token, body: { ...pusher, device_display_name: 'Desk' } });
    list = await srv().request('GET', `${C}/pushers`, { token: alice.access_token });
    assert.deepEqual(list.body.pushers.map((p: { device_display_name: string }) => p.device_display_name), ['Desk']);
    const bad = await srv().request('POST', `${C}/pushers/set`, { token: alice.access_token, body: { app_id: 'x', pushkey: 'y', kind: 'http' } });
    assert.equal(bad.status, 400);
    await srv().request('POST', `${C}/pushers/set`, { token: alice.access_token, body: { app_id: pusher.app_id, pushkey: 'key1', kind: null } });
    list = await srv().request('GET', `${C}/pushers`, { token: alice.access_token });
    assert.deepEqual(list.body.pushers, []);
  });

  it('third-party protocols and 3PIDs answer (empty)', async () => {
    assert.deepEqual((await srv().request('GET', `${C}/thirdparty/protocols`, { token: alice.access_token })).body, {});
    assert.deepEqual((await srv().request('GET', `${C}/account/3pid`, { token: alice.access_token })).body, { threepids: [] }, 'none until one is added (email.test.ts)');
  });
});

describeServer('no TURN configured', {}, (srv) => {
  it('/voip/turnServer answers {}', async () => {
    const u = await srv().register();
    const res = await srv().request('GET', `${C}/voip/turnServer`, { token: u.access_token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
  });
});
