import assert from 'node:assert/strict';
import { describeServer } from './harness.ts';

describeServer('discovery and HTTP basics', {}, (srv) => {
  it('GET /versions lists spec versions and Whisper features', async () => {
    const res = await srv().request('GET', '/_matrix/client/versions');
    assert.equal(res.status, 200);
    assert.ok(res.body.versions.includes('v1.11'));
    assert.equal(res.body.unstable_features['org.whisper.registration_tokens'], true);
  });

  it('serves the web client page at /', async () => {
    const res = await fetch(`${srv().url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/html/);
    assert.match(await res.text(), /<title>Whisper<\/title>/);
  });

  it('/.well-known/matrix/client points at the public URL', async () => {
    const res = await srv().request('GET', '/.well-known/matrix/client');
    assert.equal(res.status, 200);
    assert.equal(res.body['m.homeserver'].base_url, srv().url);
  });

  it('/capabilities needs a token and lists room versions', async () => {
    const anon = await srv().request('GET', '/_matrix/client/v3/capabilities');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.errcode, 'M_MISSING_TOKEN');
    const user = await srv().register();
    const res = await srv().request('GET', '/_matrix/client/v3/capabilities', { token: user.access_token });
    assert.equal(res.status, 200);
    assert.equal(res.body.capabilities['m.room_versions'].default, '11');
    assert.equal(res.body.capabilities['m.change_password'].enabled, true);
  });

  it('answers CORS preflight on any path and sets CORS headers', async () => {
    const pre = await srv().request('OPTIONS', '/_matrix/client/v3/login');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-headers')!, /Authorization/);
    const get = await srv().request('GET', '/_matrix/client/versions');
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
  });

  it('unknown paths are 404 M_UNRECOGNIZED, wrong methods 405 M_UNRECOGNIZED', async () => {
    const unknown = await srv().request('GET', '/_matrix/client/v3/no/such/thing');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_UNRECOGNIZED');
    const wrong = await srv().request('DELETE', '/_matrix/client/v3/login');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.errcode, 'M_UNRECOGNIZED');
  });

  it('echoes a request id, and logs one line per request without secrets', async () => {
    const user = await srv().register(undefined, { password: 'a-very-secret-password' });
    const res = await srv().request('GET', `/_matrix/client/v3/account/whoami?access_token=${user.access_token}`, {
      headers: { 'X-Request-Id': 'test-req-42' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'test-req-42');
    const line = srv().logLines.map((l) => JSON.parse(l)).find((l) => l.requestId === 'test-req-42');
    assert.ok(line, 'request was logged');
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/_matrix/client/v3/account/whoami');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    const all = srv().logLines.join('\n');
    assert.ok(!all.includes(user.access_token), 'no access token in logs');
    assert.ok(!all.includes('a-very-secret-password'), 'no password in logs');
  });
});
