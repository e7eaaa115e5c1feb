/**
 * The encryption relay over plain HTTP, rule by rule: key upload and signatures, one-time
 * keys handed out once and fallback keys after, device-list changes in sync and
 * /keys/changes, to-device messages delivered exactly once across retries, cross-signing
 * with UIA on replacement, and key backup's version, etag and replacement rules.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../homeserver/services/rooms/eventFormat.ts';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const V3 = '/_matrix/client/v3';

/** An ed25519 key pair with Matrix's unpadded base64 public key. */
function keyPair(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x!;
  return { publicKey: Buffer.from(raw, 'base64url').toString('base64').replace(/=+$/, ''), privateKey };
}

/** Signs `object` as `userId`'s key `keyId` (spec: Signing JSON). */
function signJson<T extends Record<string, unknown>>(object: T, userId: string, keyId: string, privateKey: KeyObject): T {
  const { signatures, unsigned: _u, ...payload } = object as T & { signatures?: Record<string, Record<string, string>> };
  const sig = sign(null, Buffer.from(canonicalJson(payload)), privateKey).toString('base64').replace(/=+$/, '');
  return { ...object, signatures: { ...signatures, [userId]: { ...signatures?.[userId], [keyId]: sig } } };
}

function deviceKeys(user: TestUser) {
  const ed = keyPair();
  const keys = signJson({
    user_id: user.user_id, device_id: user.device_id,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${user.device_id}`]: 'curve' + user.device_id, [`ed25519:${user.device_id}`]: ed.publicKey },
  }, user.user_id, `ed25519:${user.device_id}`, ed.privateKey);
  return { keys, ed };
}

function crossSigningKey(userId: string, usage: string) {
  const pair = keyPair();
  return { pair, key: { user_id: userId, usage: [usage], keys: { [`ed25519:${pair.publicKey}`]: pair.publicKey } } as Record<string, unknown> };
}

async function shareRoom(srv: TestServer, a: TestUser, b: TestUser): Promise<string> {
  const room = await srv.request('POST', `${V3}/createRoom`, { token: a.access_token, body: { invite: [b.user_id] } });
  await srv.request('POST', `${V3}/join/${encodeURIComponent(room.body.room_id)}`, { token: b.access_token, body: {} });
  return room.body.room_id;
}

async function login(srv: TestServer, user: TestUser): Promise<TestUser> {
  const res = await srv.request('POST', `${V3}/login`, {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: user.password },
  });
  return { ...res.body, password: user.password };
}

describeServer('end-to-end encryption relay', {}, (srv) => {
  const sync = (u: TestUser, since?: string, timeout = 0) =>
    srv().request('GET', `${V3}/sync?timeout=${timeout}${since ? `&since=${since}` : ''}`, { token: u.access_token });

  describe('keys', () => {
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      alice = await srv().register();
      bob = await srv().register();
    });

    it('upload checks the device and its self-signature', async () => {
      const { keys } = deviceKeys(alice);
      const forged = { ...keys, keys: { ...keys.keys, [`curve25519:${alice.device_id}`]: 'other' } };
      const bad = await srv().request('POST', `${V3}/keys/upload`, { token: alice.access_token, body: { device_keys: forged } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errcode, 'M_INVALID_SIGNATURE');
      const other = await srv().request('POST', `${V3}/keys/upload`, { token: alice.access_token, body: { device_keys: { ...keys, device_id: 'SOMEONEELSE' } } });
      assert.equal(other.status, 400);
      const ok = await srv().request('POST', `${V3}/keys/upload`, { token: alice.access_token, body: { device_keys: keys } });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.one_time_key_counts, {});
    });

    it('one-time keys are claimed once each, then the fallback key', async () => {
      const otks = Object.fromEntries([1, 2, 3].map((i) => [`signed_curve25519:K${i}`, { key: `otk${i}`, signatures: {} }]));
      const up = await srv().request('POST', `${V3}/keys/upload`, {
        token: alice.access_token,
        body: { one_time_keys: otks, fallback_keys: { 'signed_curve25519:F1': { key: 'fallback', fallback: true, signatures: {} } } },
      });
      assert.deepEqual(up.body.one_time_key_counts, { signed_curve25519: 3 });
      // Re-uploading an existing key id changes nothing.
      const again = await srv().request('POST', `${V3}/keys/upload`, { token: alice.access_token, body: { one_time_keys: { 'signed_curve25519:K1': { key: 'changed' } } } });
      assert.deepEqual(again.body.one_time_key_counts, { signed_curve25519: 3 });
      const first = await sync(alice);
      assert.deepEqual(first.body.device_one_time_keys_count, { signed_curve25519: 3 });
      assert.deepEqual(first.body.device_unused_fallback_key_types, ['signed_curve25519']);

      const claim = () => srv().request('POST', `${V3}/keys/claim`, {
        token: bob.access_token, body: { one_time_keys: { [alice.user_id]: { [alice.device_id]: 'signed_curve25519' } } },
      });
      // Concurrent claims never get the same key.
      const claims = await Promise.all([claim(), claim(), claim()]);
      const got = claims.map((c) => Object.entries(c.body.one_time_keys[alice.user_id][alice.device_id])[0]);
      assert.deepEqual(got.map(([id]) => id).sort(), ['signed_curve25519:K1', 'signed_curve25519:K2', 'signed_curve25519:K3']);
      assert.deepEqual(got.find(([id]) => id.endsWith('K1'))![1], { key: 'otk1', signatures: {} });
      // Out of one-time keys: the fallback key, as often as asked.
      for (let i = 0; i < 2; i++) {
        const fb = await claim();
        assert.deepEqual(fb.body.one_time_keys[alice.user_id][alice.device_id], { 'signed_curve25519:F1': { key: 'fallback', fallback: true, signatures: {} } });
      }
      const after = await sync(alice);
      assert.deepEqual(after.body.device_one_time_keys_count, { signed_curve25519: 0 });
      assert.deepEqual(after.body.device_unused_fallback_key_types, []);
      // Unknown devices and other servers' users.
      const unknown = await srv().request('POST', `${V3}/keys/claim`, {
        token: bob.access_token, body: { one_time_keys: { [alice.user_id]: { NOPE: 'signed_curve25519' }, '@x:elsewhere.example': { D: 'signed_curve25519' } } },
      });
      assert.deepEqual(unknown.body.one_time_keys, {});
      assert.ok(unknown.body.failures['elsewhere.example']);
    });

    it('query returns devices with display names, all or the ones named', async () => {
      await srv().request('PUT', `${V3}/devices/${alice.device_id}`, { token: alice.access_token, body: { display_name: 'desktop' } });
      const all = await srv().request('POST', `${V3}/keys/query`, { token: bob.access_token, body: { device_keys: { [alice.user_id]: [], '@ghost:whisper.test': [] } } });
      const device = all.body.device_keys[alice.user_id][alice.device_id];
      assert.equal(device.unsigned.device_display_name, 'desktop');
      assert.equal(device.user_id, alice.user_id);
      assert.deepEqual(all.body.device_keys['@ghost:whisper.test'], {});
      const named = await srv().request('POST', `${V3}/keys/query`, { token: bob.access_token, body: { device_keys: { [alice.user_id]: ['NOTADEVICE'] } } });
      assert.deepEqual(named.body.device_keys[alice.user_id], {});
    });
  });

  describe('device lists', () => {
    it('changes reach those who share a room, and leaving is reported', async () => {
      const alice = await srv().register();
      const bob = await srv().register();
      const stranger = await srv().register();
      await shareRoom(srv(), alice, bob);
      const bobStart = (await sync(bob)).body.next_batch;
      const strangerStart = (await sync(stranger)).body.next_batch;

      // Bob long-polls; alice signing in on a new device wakes him.
      const polling = sync(bob, bobStart, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      const laptop = await login(srv(), alice);
      const woke = await polling;
      assert.deepEqual(woke.body.device_lists.changed, [alice.user_id]);
      assert.equal((await sync(stranger, strangerStart)).body.device_lists.changed.length, 0, 'a stranger hears nothing');

      // New keys on the laptop, then the laptop signs out: both are changes.
      const { keys } = deviceKeys(laptop);
      await srv().request('POST', `${V3}/keys/upload`, { token: laptop.access_token, body: { device_keys: keys } });
      const afterKeys = await sync(bob, woke.body.next_batch);
      assert.deepEqual(afterKeys.body.device_lists.changed, [alice.user_id]);
      await srv().request('POST', `${V3}/logout`, { token: laptop.access_token, body: {} });
      const afterLogout = await sync(bob, afterKeys.body.next_batch);
      assert.deepEqual(afterLogout.body.device_lists.changed, [alice.user_id]);
      const query = await srv().request('POST', `${V3}/keys/query`, { token: bob.access_token, body: { device_keys: { [alice.user_id]: [] } } });
      assert.equal(query.body.device_keys[alice.user_id][laptop.device_id], undefined, 'the signed-out device\'s keys are gone');

      // /keys/changes answers the same between two tokens.
      const changes = await srv().request('GET', `${V3}/keys/changes?from=${bobStart}&to=${afterLogout.body.next_batch}`, { token: bob.access_token });
      assert.deepEqual(changes.body, { changed: [alice.user_id], left: [] });
      const bad = await srv().request('GET', `${V3}/keys/changes?from=nonsense&to=${bobStart}`, { token: bob.access_token });
      assert.equal(bad.status, 400);

      // Alice leaves the only room they share.
      const rooms = await srv().request('GET', `${V3}/joined_rooms`, { token: alice.access_token });
      await srv().request('POST', `${V3}/rooms/${encodeURIComponent(rooms.body.joined_rooms[0])}/leave`, { token: alice.access_token, body: {} });
      const afterLeave = await sync(bob, afterLogout.body.next_batch);
      assert.deepEqual(afterLeave.body.device_lists.left, [alice.user_id]);

    });

    it('joining a room makes its members\' devices news', async () => {
      const alice = await srv().register();
      const carol = await srv().register();
      const start = (await sync(carol)).body.next_batch;
      await shareRoom(srv(), alice, carol);
      const next = await sync(carol, start);
      assert.ok(next.body.device_lists.changed.includes(alice.user_id));
    });
  });

  describe('to-device messages', () => {
    it('are delivered exactly once, across retries and lost responses', async () => {
      const alice = await srv().register();
      const bob = await srv().register();
      const bobPhone = await login(srv(), bob);
      const start = (await sync(bob)).body.next_batch;
      const phoneStart = (await sync(bobPhone)).body.next_batch;

      const send = (txn: string, messages: Record<string, unknown>) =>
        srv().request('PUT', `${V3}/sendToDevice/m.room_key_request/${txn}`, { token: alice.access_token, body: { messages } });
      assert.equal((await send('t1', { [bob.user_id]: { [bob.device_id]: { n: 1 } } })).status, 200);
      assert.equal((await send('t1', { [bob.user_id]: { [bob.device_id]: { n: 1 } } })).status, 200, 'a retry is accepted');
      await send('t2', { [bob.user_id]: { '*': { n: 2 } } });

      const first = await sync(bob, start);
      assert.deepEqual(first.body.to_device.events, [
        { sender: alice.user_id, type: 'm.room_key_request', content: { n: 1 } },
        { sender: alice.user_id, type: 'm.room_key_request', content: { n: 2 } },
      ]);
      // The response was lost: the same token again gets the same messages.
      const retry = await sync(bob, start);
      assert.deepEqual(retry.body.to_device.events, first.body.to_device.events);
      // Acknowledged by the next token: never again.
      const next = await sync(bob, retry.body.next_batch);
      assert.deepEqual(next.body.to_device.events, []);
      const fromOld = await sync(bob, start);
      assert.deepEqual(fromOld.body.to_device.events, [], 'acknowledged messages are deleted');
      // The `*` message went to the phone too, and only that one.
      const phone = await sync(bobPhone, phoneStart);
      assert.deepEqual(phone.body.to_device.events.map((e: { content: unknown }) => e.content), [{ n: 2 }]);
    });

    it('a long backlog comes in parts, nothing lost', async () => {
      const alice = await srv().register();
      const bob = await srv().register();
      let token = (await sync(bob)).body.next_batch;
      for (let i = 0; i < 250; i++) {
        await srv().request('PUT', `${V3}/sendToDevice/org.example.n/b${i}`, { token: alice.access_token, body: { messages: { [bob.user_id]: { [bob.device_id]: { i } } } } });
      }
      const seen: number[] = [];
      for (let round = 0; round < 5 && seen.length < 250; round++) {
        const res = await sync(bob, token);
        assert.ok(res.body.to_device.events.length <= 100);
        seen.push(...res.body.to_device.events.map((e: { content: { i: number } }) => e.content.i));
        token = res.body.next_batch;
      }
      assert.deepEqual(seen, Array.from({ length: 250 }, (_, i) => i));
    });

    it('a long-poll wakes for a to-device message', async () => {
      const alice = await srv().register();
      const bob = await srv().register();
      const start = (await sync(bob)).body.next_batch;
      const polling = sync(bob, start, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      const sent = Date.now();
      await srv().request('PUT', `${V3}/sendToDevice/m.dummy/w1`, { token: alice.access_token, body: { messages: { [bob.user_id]: { [bob.device_id]: {} } } } });
      const res = await polling;
      assert.equal(res.body.to_device.events.length, 1);
      assert.ok(Date.now() - sent < 5000);
    });
  });

  describe('cross-signing', () => {
    it('first upload without a password, replacement with one; signatures checked', async () => {
      const alice = await srv().register();
      const bob = await srv().register();
      const { keys: device, ed } = deviceKeys(alice);
      await srv().request('POST', `${V3}/keys/upload`, { token: alice.access_token, body: { device_keys: device } });

      const master = crossSigningKey(alice.user_id, 'master');
      const masterId = `ed25519:${master.pair.publicKey}`;
      const ssk = crossSigningKey(alice.user_id, 'self_signing');
      const usk = crossSigningKey(alice.user_id, 'user_signing');
      const unsigned = await srv().request('POST', `${V3}/keys/device_signing/upload`, {
        token: alice.access_token, body: { master_key: master.key, self_signing_key: ssk.key },
      });
      assert.equal(unsigned.body.errcode, 'M_INVALID_SIGNATURE', 'the self-signing key must be signed by the master key');
      const body = {
        master_key: master.key,
        self_signing_key: signJson(ssk.key, alice.user_id, masterId, master.pair.privateKey),
        user_signing_key: signJson(usk.key, alice.user_id, masterId, master.pair.privateKey),
      };
      assert.equal((await srv().request('POST', `${V3}/keys/device_signing/upload`, { token: alice.access_token, body })).status, 200);
      // The same keys again: nothing is replaced, no password needed.
      assert.equal((await srv().request('POST', `${V3}/keys/device_signing/upload`, { token: alice.access_token, body })).status, 200);

      // The self-signing key signs the device; the device signs the master key.
      const sskId = `ed25519:${ssk.pair.publicKey}`;
      const signedDevice = signJson(device, alice.user_id, sskId, ssk.pair.privateKey);
      const signedMaster = signJson(master.key, alice.user_id, `ed25519:${alice.device_id}`, ed.privateKey);
      const forged = { ...signedDevice, signatures: { [alice.user_id]: { [sskId]: 'A'.repeat(86) } } };
      const up = await srv().request('POST', `${V3}/keys/signatures/upload`, {
        token: alice.access_token, body: { [alice.user_id]: { [alice.device_id]: signedDevice, [master.pair.publicKey]: signedMaster } },
      });
      assert.deepEqual(up.body.failures, {});
      const bad = await srv().request('POST', `${V3}/keys/signatures/upload`, { token: alice.access_token, body: { [alice.user_id]: { [alice.device_id]: forged } } });
      assert.equal(bad.body.failures[alice.user_id][alice.device_id].errcode, 'M_INVALID_SIGNATURE');

      const seen = await srv().request('POST', `${V3}/keys/query`, { token: bob.access_token, body: { device_keys: { [alice.user_id]: [] } } });
      assert.ok(seen.body.device_keys[alice.user_id][alice.device_id].signatures[alice.user_id][sskId]);
      assert.ok(seen.body.master_keys[alice.user_id].signatures[alice.user_id][`ed25519:${alice.device_id}`]);
      assert.deepEqual(seen.body.self_signing_keys[alice.user_id].keys, ssk.key.keys);
      assert.equal(seen.body.user_signing_keys[alice.user_id], undefined);
      const own = await srv().request('POST', `${V3}/keys/query`, { token: alice.access_token, body: { device_keys: { [alice.user_id]: [] } } });
      assert.deepEqual(own.body.user_signing_keys[alice.user_id].keys, usk.key.keys);

      // A new identity needs the password.
      const next = crossSigningKey(alice.user_id, 'master');
      const challenge = await srv().request('POST', `${V3}/keys/device_signing/upload`, { token: alice.access_token, body: { master_key: next.key } });
      assert.equal(challenge.status, 401);
      assert.ok(challenge.body.session);
      const replaced = await srv().request('POST', `${V3}/keys/device_signing/upload`, {
        token: alice.access_token,
        body: { master_key: next.key, auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: alice.user_id }, password: alice.password } },
      });
      assert.equal(replaced.status, 200);
      const after = await srv().request('POST', `${V3}/keys/query`, { token: bob.access_token, body: { device_keys: { [alice.user_id]: [] } } });
      assert.deepEqual(after.body.master_keys[alice.user_id].keys, next.key.keys);
      assert.equal(after.body.master_keys[alice.user_id].signatures, undefined, 'signatures on the old identity are gone');
    });

    it('a user-signing signature on someone else is shown only to its signer, whose devices are told to re-query', async () => {
      const alice = await srv().register();
      const bob = await srv().register();
      const carol = await srv().register();
      await shareRoom(srv(), bob, carol);
      const upload = async (u: TestUser) => {
        const master = crossSigningKey(u.user_id, 'master');
        const usk = crossSigningKey(u.user_id, 'user_signing');
        const masterId = `ed25519:${master.pair.publicKey}`;
        await srv().request('POST', `${V3}/keys/device_signing/upload`, {
          token: u.access_token, body: { master_key: master.key, user_signing_key: signJson(usk.key, u.user_id, masterId, master.pair.privateKey) },
        });
        return { master, usk };
      };
      const a = await upload(alice);
      const b = await upload(bob);
      const signed = signJson(b.master.key, alice.user_id, `ed25519:${a.usk.pair.publicKey}`, a.usk.pair.privateKey);
      const aliceStart = (await sync(alice)).body.next_batch;
      const carolStart = (await sync(carol)).body.next_batch;
      const res = await srv().request('POST', `${V3}/keys/signatures/upload`, { token: alice.access_token, body: { [bob.user_id]: { [b.master.pair.publicKey]: signed } } });
      assert.deepEqual(res.body.failures, {});
      const byAlice = await srv().request('POST', `${V3}/keys/query`, { token: alice.access_token, body: { device_keys: { [bob.user_id]: [] } } });
      assert.ok(byAlice.body.master_keys[bob.user_id].signatures[alice.user_id]);
      const byCarol = await srv().request('POST', `${V3}/keys/query`, { token: carol.access_token, body: { device_keys: { [bob.user_id]: [] } } });
      assert.equal(byCarol.body.master_keys[bob.user_id].signatures?.[alice.user_id], undefined);
      // Alice's other sessions re-query bob (even without a shared room) and so see him verified; carol hears nothing.
      assert.deepEqual((await sync(alice, aliceStart)).body.device_lists.changed, [bob.user_id]);
      assert.deepEqual((await sync(carol, carolStart)).body.device_lists.changed, []);
      const changes = await srv().request('GET', `${V3}/keys/changes?from=${aliceStart}&to=${(await sync(alice)).body.next_batch}`, { token: alice.access_token });
      assert.deepEqual(changes.body.changed, [bob.user_id]);
    });
  });

  describe('key backup', () => {
    const algorithm = 'm.megolm_backup.v1.curve25519-aes-sha2';
    const key = (first: number, forwarded: number, verified: boolean, tag: string) => ({
      first_message_index: first, forwarded_count: forwarded, is_verified: verified, session_data: { ciphertext: tag, ephemeral: 'e', mac: 'm' },
    });

    it('versions: create, read, update, delete', async () => {
      const alice = await srv().register();
      const t = alice.access_token;
      assert.equal((await srv().request('GET', `${V3}/room_keys/version`, { token: t })).body.errcode, 'M_NOT_FOUND');
      const v1 = await srv().request('POST', `${V3}/room_keys/version`, { token: t, body: { algorithm, auth_data: { public_key: 'abc' } } });
      assert.equal(v1.body.version, '1');
      const info = await srv().request('GET', `${V3}/room_keys/version`, { token: t });
      assert.deepEqual(info.body, { algorithm, auth_data: { public_key: 'abc' }, count: 0, etag: '0', version: '1' });
      const upd = await srv().request('PUT', `${V3}/room_keys/version/1`, { token: t, body: { algorithm, auth_data: { public_key: 'abc', signatures: {} }, version: '1' } });
      assert.equal(upd.status, 200);
      assert.equal((await srv().request('PUT', `${V3}/room_keys/version/1`, { token: t, body: { algorithm, auth_data: {}, version: '2' } })).status, 400);
      assert.equal((await srv().request('PUT', `${V3}/room_keys/version/1`, { token: t, body: { algorithm: 'other', auth_data: {} } })).status, 400);
      assert.equal((await srv().request('GET', `${V3}/room_keys/version/7`, { token: t })).status, 404);
      assert.equal((await srv().request('GET', `${V3}/room_keys/version/abc`, { token: t })).status, 404);
      const v2 = await srv().request('POST', `${V3}/room_keys/version`, { token: t, body: { algorithm, auth_data: { public_key: 'def' } } });
      assert.equal(v2.body.version, '2');
      assert.equal((await srv().request('DELETE', `${V3}/room_keys/version/2`, { token: t })).status, 200);
      assert.equal((await srv().request('GET', `${V3}/room_keys/version`, { token: t })).body.version, '1', 'the newest remaining version');
      const v3 = await srv().request('POST', `${V3}/room_keys/version`, { token: t, body: { algorithm, auth_data: {} } });
      assert.equal(v3.body.version, '3', 'version numbers are never reused');
      // Another user sees none of it.
      const bob = await srv().register();
      assert.equal((await srv().request('GET', `${V3}/room_keys/version/1`, { token: bob.access_token })).status, 404);
    });

    it('keys at three levels, the replacement rules, etag and count, wrong version', async () => {
      const alice = await srv().register();
      const t = alice.access_token;
      await srv().request('POST', `${V3}/room_keys/version`, { token: t, body: { algorithm, auth_data: {} } });
      const put = (path: string, body: unknown, version = '1') => srv().request('PUT', `${V3}/room_keys/keys${path}?version=${version}`, { token: t, body });
      const get = (path: string) => srv().request('GET', `${V3}/room_keys/keys${path}?version=1`, { token: t });

      const all = await put('', { rooms: { '!r1:whisper.test': { sessions: { s1: key(5, 0, false, 'a'), s2: key(0, 0, false, 'b') } } } });
      assert.deepEqual(all.body, { etag: '1', count: 2 });
      const room = await put(`/${encodeURIComponent('!r2:whisper.test')}`, { sessions: { s3: key(0, 0, false, 'c') } });
      assert.deepEqual(room.body, { etag: '2', count: 3 });
      // Lower first index wins; a worse key leaves the stored one (and the etag) alone.
      const better = await put(`/${encodeURIComponent('!r1:whisper.test')}/s1`, key(2, 0, false, 'a-better'));
      assert.deepEqual(better.body, { etag: '3', count: 3 });
      const worse = await put(`/${encodeURIComponent('!r1:whisper.test')}/s1`, key(4, 0, false, 'a-worse'));
      assert.deepEqual(worse.body, { etag: '3', count: 3 });
      // A verified key beats a lower index.
      await put(`/${encodeURIComponent('!r1:whisper.test')}/s1`, key(3, 0, true, 'a-verified'));
      await put(`/${encodeURIComponent('!r1:whisper.test')}/s1`, key(0, 0, false, 'a-unverified'));
      const s1 = await get(`/${encodeURIComponent('!r1:whisper.test')}/s1`);
      assert.deepEqual(s1.body, key(3, 0, true, 'a-verified'));
      // Then fewer forwards.
      await put(`/${encodeURIComponent('!r2:whisper.test')}/s3`, key(0, 2, false, 'c-forwarded'));
      assert.equal((await get(`/${encodeURIComponent('!r2:whisper.test')}/s3`)).body.session_data.ciphertext, 'c');

      const everything = await get('');
      assert.deepEqual(Object.keys(everything.body.rooms).sort(), ['!r1:whisper.test', '!r2:whisper.test']);
      assert.deepEqual((await get(`/${encodeURIComponent('!nothing:whisper.test')}`)).body, { sessions: {} });
      assert.equal((await get(`/${encodeURIComponent('!r1:whisper.test')}/nope`)).body.errcode, 'M_NOT_FOUND');

      // A client still writing to an old version is told the current one.
      await srv().request('POST', `${V3}/room_keys/version`, { token: t, body: { algorithm, auth_data: {} } });
      const stale = await put('', { rooms: {} }, '1');
      assert.equal(stale.status, 403);
      assert.equal(stale.body.errcode, 'M_WRONG_ROOM_KEYS_VERSION');
      assert.equal(stale.body.current_version, '2');
      // Reading the old version still works; deleting keys counts down.
      assert.equal((await get('')).status, 200);
      const v2 = (path: string, method = 'DELETE') => srv().request(method, `${V3}/room_keys/keys${path}?version=2`, { token: t, body: method === 'PUT' ? { rooms: { '!r:x': { sessions: { a: key(0, 0, false, 'x'), b: key(0, 0, false, 'y') } } } } : undefined });
      await v2('', 'PUT');
      assert.deepEqual((await v2(`/${encodeURIComponent('!r:x')}/a`)).body, { etag: '2', count: 1 });
      assert.deepEqual((await v2('')).body, { etag: '3', count: 0 });
      assert.equal((await srv().request('GET', `${V3}/room_keys/keys`, { token: t })).body.errcode, 'M_MISSING_PARAM');
    });
  });
});
