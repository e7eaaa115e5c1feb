import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { ClientEvent, type MatrixClient, type ReceivedToDeviceMessage } from 'matrix-js-sdk';
import { describeServer, type TestUser } from '../../../spec-tests/harness.ts';
import { startSdk, until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { EncryptionState, MEGOLM } from './crypto.ts';
import { LateCryptoClient } from './lateCrypto.ts';

/**
 * A session as the app opens one, with crypto (in memory here, Node has no IndexedDB) held
 * back until the test opens the gate: the sync runs and fills the rooms meanwhile.
 */
describeServer('LateCryptoClient: the sync runs while Rust crypto is still starting', {}, (srv) => {
  let alice: TestUser;
  let bob: MatrixClient;
  let chat: ChatState;
  let encryption: EncryptionState;
  let roomId: string;
  const received: ReceivedToDeviceMessage[] = [];
  const cryptoAtReceipt: boolean[] = [];
  let openGate!: () => void;

  before(async () => {
    alice = await srv().register('alice');
    const bobUser = await srv().register('bob');
    bob = await startSdk(srv(), bobUser, { crypto: true });
    ({ room_id: roomId } = await bob.createRoom({ invite: [alice.user_id], initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } }] }));
    await until('bob’s client knows the room is encrypted', () => bob.getRoom(roomId)?.hasEncryptionStateEvent());
    await bob.sendTextMessage(roomId, 'sent before alice joined');
    const join = await srv().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: alice.access_token, body: {} });
    assert.equal(join.status, 200);

    encryption = new EncryptionState();
    const client = new LateCryptoClient({ baseUrl: srv().url, accessToken: alice.access_token, userId: alice.user_id, deviceId: alice.device_id, cryptoCallbacks: encryption.callbacks });
    client.on(ClientEvent.ReceivedToDeviceMessage, (m) => {
      received.push(m);
      cryptoAtReceipt.push(!!client.getCrypto());
    });
    client.startCryptoAfter(new Promise<void>((resolve) => { openGate = resolve; }));
    void encryption.start(client, false);
    chat = new ChatState(client);
  });
  after(() => {
    chat?.stop();
    bob?.stopClient();
  });

  it('the first sync fills the rooms before crypto has started', async () => {
    await chat.start();
    assert.equal(chat.client.getCrypto(), undefined, 'crypto has not started');
    assert.ok(chat.room(roomId)?.hasEncryptionStateEvent());
    const encrypted = chat.room(roomId)!.getLiveTimeline().getEvents().filter((e) => e.getWireType() === 'm.room.encrypted');
    assert.equal(encrypted.length, 1);
    assert.ok(encrypted[0].shouldAttemptDecryption(), 'not tried yet: there is no crypto to try it');
  });

  it('a sync with to-device messages starts crypto (without waiting for the gate) and waits for it; they reach crypto, then the app', async () => {
    const res = await srv().request('PUT', `/_matrix/client/v3/sendToDevice/org.whisper.test/t1`, {
      token: bob.getAccessToken()!, body: { messages: { [alice.user_id]: { [alice.device_id]: { n: 1 } } } },
    });
    assert.equal(res.status, 200);
    await until('the to-device message arrives', () => received.length > 0, 20_000);
    assert.deepEqual(received.map((m) => [m.message.type, m.message.content.n]), [['org.whisper.test', 1]], 'once, as sent');
    assert.deepEqual(cryptoAtReceipt, [true], 'handed on only once crypto ran');
    // The sync goes on after it.
    await srv().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/plain1`, {
      token: bob.getAccessToken()!, body: { msgtype: 'm.notice', body: 'not encrypted, sent after the to-device message' },
    });
    await until('the next sync', () => chat.room(roomId)!.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'not encrypted, sent after the to-device message'));
    openGate();
  });

  it('the encrypted event that came before crypto is tried once it runs; a new one decrypts', async () => {
    const early = chat.room(roomId)!.getLiveTimeline().getEvents().find((e) => e.getWireType() === 'm.room.encrypted')!;
    await until('tried, and waiting for a key this device never got', () => early.isDecryptionFailure(), 20_000);
    // Bob's client learns the new device from the keys it uploaded once crypto ran.
    await until('bob knows alice’s device', async () => (await bob.getCrypto()!.getUserDeviceInfo([alice.user_id], true)).get(alice.user_id)?.has(alice.device_id), 20_000);
    await bob.sendTextMessage(roomId, 'now you can read this');
    await until('alice decrypts it', () => chat.room(roomId)!.getLiveTimeline().getEvents().some((e) => e.getType() === 'm.room.message' && e.getContent().body === 'now you can read this'), 20_000);
  });

  it('a message alice sends to the encrypted room is encrypted', async () => {
    await chat.sendText(roomId, 'encrypted from the late-crypto client');
    await until('bob decrypts it', () => bob.getRoom(roomId)?.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'encrypted from the late-crypto client'), 20_000);
    const stored = await srv().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=5`, { token: alice.access_token });
    assert.ok(!JSON.stringify(stored.body).includes('late-crypto client'), 'the server has only ciphertext');
  });
});
