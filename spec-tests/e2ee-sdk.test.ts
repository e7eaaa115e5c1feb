/**
 * End-to-end encryption with matrix-js-sdk's Rust crypto (the engine Element uses): two
 * people chat in an encrypted DM and each decrypts the other; the first sets up
 * cross-signing, secret storage and key backup; a new device of hers signs in with the
 * recovery key, restores the keys from the backup and reads the history.
 */
import assert from 'node:assert/strict';
import { EventType, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import type { GeneratedSecretStorageKey } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { describeServer, type TestServer, type TestUser } from './harness.ts';
import { startSdk, until } from './sdkHelpers.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

const MEGOLM = 'm.megolm.v1.aes-sha2';

/** Decrypted message bodies in the room's live timeline. */
function plaintexts(room: Room | null): string[] {
  return (room?.getLiveTimeline().getEvents() ?? [])
    .filter((e: MatrixEvent) => e.getType() === 'm.room.message' && !e.isDecryptionFailure())
    .map((e) => e.getContent().body as string);
}

async function login(srv: TestServer, user: TestUser): Promise<TestUser> {
  const res = await srv.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: user.password, initial_device_display_name: 'second laptop' },
  });
  assert.equal(res.status, 200);
  return { ...res.body, password: user.password };
}

describeServer('end-to-end encryption with Rust crypto', {}, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  let a: MatrixClient;
  let b: MatrixClient;
  let a2: MatrixClient | undefined;
  let room: string;
  let recoveryKey: GeneratedSecretStorageKey | undefined;
  // Secret storage asks the app for its key; the app (here, the test) has it.
  const cryptoCallbacks = {
    getSecretStorageKey: async ({ keys }: { keys: Record<string, unknown> }): Promise<[string, Uint8Array<ArrayBuffer>] | null> => {
      const keyId = Object.keys(keys)[0];
      return recoveryKey?.privateKey ? [keyId, new Uint8Array(recoveryKey.privateKey)] : null;
    },
  };

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    // Whisper takes DMs from friends only by default; these two are strangers.
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bob.access_token, body: { dm_from: 'everyone' } });
    a = await startSdk(srv(), alice, { crypto: true, clientOpts: { cryptoCallbacks } });
    b = await startSdk(srv(), bob, { crypto: true });
  });
  after(() => {
    a?.stopClient();
    b?.stopClient();
    a2?.stopClient();
  });

  it('device keys and one-time keys reach the server', async () => {
    const query = await srv().request('POST', '/_matrix/client/v3/keys/query', { token: bob.access_token, body: { device_keys: { [alice.user_id]: [] } } });
    assert.equal(query.status, 200);
    const device = query.body.device_keys[alice.user_id][alice.device_id];
    assert.ok(device, 'alice\'s device keys are published');
    assert.ok(device.keys[`curve25519:${alice.device_id}`] && device.keys[`ed25519:${alice.device_id}`]);
    const sync = await srv().request('GET', '/_matrix/client/v3/sync?timeout=0', { token: alice.access_token });
    assert.ok(sync.body.device_one_time_keys_count.signed_curve25519 > 0, 'one-time keys were uploaded');
  });

  it('an encrypted DM: each side decrypts the other', async () => {
    ({ room_id: room } = await a.createRoom({
      is_direct: true, invite: [bob.user_id], preset: 'trusted_private_chat' as never,
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } }],
    }));
    await until('bob is invited', () => b.getRoom(room)?.getMyMembership() === 'invite');
    await b.joinRoom(room);
    await until('alice sees bob join', () => a.getRoom(room)?.getMember(bob.user_id)?.membership === 'join');
    await until('the room is encrypted for alice', () => a.getCrypto()!.isEncryptionEnabledInRoom(room));

    await a.sendTextMessage(room, 'the password for the game server is hunter2');
    await until('bob decrypts alice\'s message', () => plaintexts(b.getRoom(room)).includes('the password for the game server is hunter2'), 20_000);
    await b.sendTextMessage(room, 'got it, thanks');
    await until('alice decrypts bob\'s answer', () => plaintexts(a.getRoom(room)).includes('got it, thanks'), 20_000);

    // What the server stored is ciphertext only.
    const messages = await srv().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=20`, { token: bob.access_token });
    const stored = messages.body.chunk.filter((e: { type: string }) => e.type === EventType.RoomMessageEncrypted);
    assert.ok(stored.length >= 2);
    assert.ok(!JSON.stringify(messages.body).includes('hunter2'), 'the server never sees plaintext');
  });

  it('cross-signing, secret storage and key backup', async () => {
    const crypto = a.getCrypto()!;
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: async (makeRequest) => {
        await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.user_id }, password: alice.password } as never);
      },
    });
    await crypto.bootstrapSecretStorage({
      createSecretStorageKey: async () => (recoveryKey = await crypto.createRecoveryKeyFromPassphrase()),
      setupNewSecretStorage: true,
      setupNewKeyBackup: true,
    });
    assert.ok(await crypto.isCrossSigningReady(), 'cross-signing is ready');
    const status = await crypto.getCrossSigningStatus();
    assert.ok(status.publicKeysOnDevice && status.privateKeysInSecretStorage);

    // Bob's view: alice's master key, and her device signed by her self-signing key.
    const query = await srv().request('POST', '/_matrix/client/v3/keys/query', { token: bob.access_token, body: { device_keys: { [alice.user_id]: [] } } });
    const master = query.body.master_keys[alice.user_id];
    const ssk = query.body.self_signing_keys[alice.user_id];
    assert.ok(master && ssk, 'bob sees alice\'s cross-signing keys');
    assert.equal(query.body.user_signing_keys[alice.user_id], undefined, 'the user-signing key is alice\'s alone');
    const sskId = Object.keys(ssk.keys)[0];
    assert.ok(query.body.device_keys[alice.user_id][alice.device_id].signatures[alice.user_id][sskId], 'the device is cross-signed');

    // The keys of both messages end up in the backup.
    const backup = await until('the backup holds both sessions', async () => {
      const v = await srv().request('GET', '/_matrix/client/v3/room_keys/version', { token: alice.access_token });
      return v.status === 200 && v.body.count >= 2 ? v.body : undefined;
    }, 20_000);
    assert.equal(backup.algorithm, 'm.megolm_backup.v1.curve25519-aes-sha2');
  });

  it('a new device restores the history from the backup with the recovery key', async () => {
    const second = await login(srv(), alice);
    a2 = await startSdk(srv(), second, { crypto: true, clientOpts: { cryptoCallbacks } });
    const crypto = a2.getCrypto()!;
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    const restored = await crypto.restoreKeyBackup();
    assert.ok(restored.imported >= 2, `imported ${restored.imported} keys`);
    const history = await until('the new device has the room', () => a2!.getRoom(room) ?? undefined);
    await until('the new device reads both messages', async () => {
      await Promise.all(history.getLiveTimeline().getEvents().map((e) => a2!.decryptEventIfNeeded(e)));
      const texts = plaintexts(history);
      return texts.includes('the password for the game server is hunter2') && texts.includes('got it, thanks');
    }, 20_000);
  });

  it('a message sent now reaches every device, including the new one', async () => {
    // Bob encrypts for the devices he knows: the new one, once his sync said alice's list changed.
    await until('bob knows alice\'s new device', async () => (await b.getCrypto()!.getUserDeviceInfo([alice.user_id])).get(alice.user_id)?.size === 2, 20_000);
    await b.sendTextMessage(room, 'welcome, new laptop');
    await until('alice\'s first device decrypts it', () => plaintexts(a.getRoom(room)).includes('welcome, new laptop'), 20_000);
    await until('alice\'s new device decrypts it', () => plaintexts(a2!.getRoom(room)).includes('welcome, new laptop'), 20_000);
    assert.equal((await b.getCrypto()!.getUserDeviceInfo([alice.user_id], true)).get(alice.user_id)?.size, 2, 'bob tracked alice\'s new device');
  });
});
