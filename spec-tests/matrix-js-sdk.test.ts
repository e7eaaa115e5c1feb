/** matrix-js-sdk as a real client: register, login, refresh (by hand and automatically), whoami, logout. */
import assert from 'node:assert/strict';
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { describeServer } from './harness.ts';

// The SDK logs every request, and an expected failed auto-refresh as an error; the test
// asserts on outcomes, so its log stays silent (loglevel's setLevel is missing from the types).
(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

describeServer('matrix-js-sdk client', { accessTokenLifetimeMs: 1000 }, (srv) => {
  let client: MatrixClient;

  it('registers through the SDK\'s UIA flow', async () => {
    client = createClient({ baseUrl: srv().url });
    const challenge = await client.registerRequest({ username: 'sdkuser', password: 'sdk password 1' }).catch((e) => e);
    assert.equal(challenge.httpStatus, 401);
    assert.ok(challenge.data.flows.length > 0);
    const res = await client.registerRequest({
      username: 'sdkuser', password: 'sdk password 1', auth: { type: 'm.login.dummy', session: challenge.data.session },
    });
    assert.equal(res.user_id, '@sdkuser:whisper.test');
    assert.ok(res.access_token);
  });

  it('logs in, asks whoami, refreshes, and logs out', async () => {
    const login = await client.loginRequest({
      type: 'm.login.password', identifier: { type: 'm.id.user', user: 'sdkuser' }, password: 'sdk password 1', refresh_token: true,
    });
    assert.ok(login.refresh_token);
    const authed = createClient({ baseUrl: srv().url, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
    const me = await authed.whoami();
    assert.equal(me.user_id, '@sdkuser:whisper.test');
    assert.equal(me.device_id, login.device_id);

    const refreshed = await authed.refreshToken(login.refresh_token!);
    assert.ok(refreshed.access_token && refreshed.refresh_token);
    authed.setAccessToken(refreshed.access_token);
    assert.equal((await authed.whoami()).device_id, login.device_id);

    await authed.logout();
    await assert.rejects(authed.whoami(), (e: { errcode?: string }) => e.errcode === 'M_UNKNOWN_TOKEN');
  });

  it('sees soft_logout on an expired token, and gets back in with its refresh token', async () => {
    // matrix-js-sdk 43 refreshes by itself only for OAuth sessions, so the app does it, as Element does.
    const login = await client.loginRequest({
      type: 'm.login.password', identifier: { type: 'm.id.user', user: 'sdkuser' }, password: 'sdk password 1', refresh_token: true,
    });
    const authed = createClient({ baseUrl: srv().url, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
    await new Promise((r) => setTimeout(r, 1200));
    const err = await authed.whoami().then(() => undefined, (e) => e);
    assert.equal(err?.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(err?.data?.soft_logout, true);
    const refreshed = await authed.refreshToken(login.refresh_token!);
    authed.setAccessToken(refreshed.access_token);
    assert.equal((await authed.whoami()).device_id, login.device_id);
  });
});
