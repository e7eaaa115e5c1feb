import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { createClient } from 'matrix-js-sdk';
import { describeServer, type TestServer, type TestUser } from '../../../spec-tests/harness.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { EncryptionState, MEGOLM, RecoveryKeyError, WAITING_FOR_KEY } from './crypto.ts';

interface Session { chat: ChatState; encryption: EncryptionState; changes: () => number }

/** What the app does on sign-in: encryption first (in memory here, Node has no IndexedDB), then the sync. */
async function startSession(srv: TestServer, user: TestUser): Promise<Session> {
  let changes = 0;
  const encryption = new EncryptionState(() => changes++);
  const client = createClient({ baseUrl: srv.url, accessToken: user.access_token, userId: user.user_id, deviceId: user.device_id, cryptoCallbacks: encryption.callbacks });
  await encryption.start(client, false);
  assert.equal(encryption.startError, undefined);
  const chat = new ChatState(client);
  await chat.start();
  return { chat, encryption, changes: () => changes };
}

const texts = (chat: ChatState, roomId: string) =>
  chat.timeline(roomId).flatMap((i) => (i.kind === 'message' && !EncryptionState.isWaitingForKey(i.event) ? [ChatState.bodyOf(i.event)] : []));
const waiting = (chat: ChatState, roomId: string) =>
  chat.timeline(roomId).filter((i) => i.kind === 'message' && EncryptionState.isWaitingForKey(i.event)).length;

describeServer('EncryptionState: encrypted DMs and secure backup over Rust crypto', {}, (srv) => {
  let aliceUser: TestUser;
  let alice: Session;
  let bob: Session;
  let dm: string;
  let recoveryKey: string;
  let oldRecoveryKey: string;
  /** Alice's master cross-signing key id, made by her first session. */
  let identity: string;
  const sessions: Session[] = [];

  before(async () => {
    aliceUser = await srv().register('alice');
    const bobUser = await srv().register('bob');
    // Whisper lets only friends start DMs by default; these two are strangers.
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bobUser.access_token, body: { dm_from: 'everyone' } });
    alice = await startSession(srv(), aliceUser);
    bob = await startSession(srv(), bobUser);
    sessions.push(alice, bob);
  });
  after(() => sessions.forEach((s) => s.chat.stop()));

  it('a new DM is encrypted from its creation, and each side reads the other', async () => {
    dm = await alice.chat.startDm('@bob:whisper.test');
    const state = await srv().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/state/m.room.encryption/`, { token: aliceUser.access_token });
    assert.equal(state.body.algorithm, MEGOLM);
    await until('the invite at bob', () => bob.chat.rooms().find((r) => r.roomId === dm));
    await bob.chat.acceptInvite(dm);
    await until('alice sees bob join', () => alice.chat.room(dm)?.getMember('@bob:whisper.test')?.membership === 'join');
    assert.ok(alice.encryption.isEncrypted(alice.chat.room(dm)));

    const notices: string[] = [];
    bob.chat.onNotice((n) => notices.push(n.body));
    await alice.chat.sendText(dm, 'the raid starts at nine');
    await until('bob decrypts it', () => texts(bob.chat, dm).includes('the raid starts at nine'), 20_000);
    await until('bob is notified with the decrypted text', () => notices.includes('the raid starts at nine'));
    await bob.chat.sendText(dm, 'bringing snacks');
    await until('alice decrypts the answer', () => texts(alice.chat, dm).includes('bringing snacks'), 20_000);

    const stored = await srv().request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/messages?dir=b&limit=20`, { token: aliceUser.access_token });
    assert.equal(stored.body.chunk.filter((e: { type: string }) => e.type === 'm.room.encrypted').length, 2);
    assert.equal(stored.body.chunk.filter((e: { type: string }) => e.type === 'm.room.message').length, 0);
    assert.ok(!JSON.stringify(stored.body).includes('raid'), 'the server has only ciphertext');
  });

  it('the DM a friend request makes is encrypted too', async () => {
    assert.equal(await alice.chat.friends.request('bob'), 'pending');
    await until('an encrypted friend-request DM with bob invited', () => alice.chat.client.getRooms().find((r) =>
      r.roomId !== dm && r.getMember('@bob:whisper.test')?.membership === 'invite' && alice.encryption.isEncrypted(r)));
  });

  it('search in an encrypted chat finds what this session decrypted', async () => {
    const hits = await bob.chat.search('RAID', dm);
    assert.deepEqual(hits.map((h) => h.body), ['the raid starts at nine']);
  });

  it('group chats are encrypted only when asked', async () => {
    const plain = await alice.chat.createGroup('open', []);
    const secret = await alice.chat.createGroup('secret', [], true);
    await until('both groups synced', () => alice.chat.room(plain) && alice.chat.room(secret));
    await until('the encryption state synced', () => alice.encryption.isEncrypted(alice.chat.room(secret)));
    assert.equal(alice.encryption.isEncrypted(alice.chat.room(plain)), false);
  });

  it('secure backup: cross-signing and key backup behind a recovery key; a reset makes a new key', async () => {
    assert.equal(await alice.encryption.refreshBackupStatus(), 'off');
    const asked: string[] = [];
    const prompt = async (stage: string) => {
      asked.push(stage);
      return aliceUser.password;
    };
    oldRecoveryKey = await alice.encryption.setUpSecureBackup(prompt);
    identity = (await alice.chat.client.getCrypto()!.getCrossSigningKeyId())!;
    recoveryKey = await alice.encryption.setUpSecureBackup(prompt);
    assert.notEqual(recoveryKey, oldRecoveryKey);
    assert.equal(await alice.chat.client.getCrypto()!.getCrossSigningKeyId(), identity, 'a session holding the cross-signing keys keeps them');
    assert.equal(asked.length, 0, 'a first identity needs no password (spec v1.11)');
    assert.match(recoveryKey, /^(\w{4} ){11}\w{4}$/, 'the recovery key in its usual 12 groups');
    assert.equal(alice.encryption.backup, 'on');
    assert.ok(await alice.chat.client.getCrypto()!.isCrossSigningReady());
    await until('both room keys are backed up', async () => {
      const v = await srv().request('GET', '/_matrix/client/v3/room_keys/version', { token: aliceUser.access_token });
      return v.body.count >= 2;
    }, 20_000);
  });

  it('a new session waits for the keys, then reads the history once given the recovery key', async () => {
    const login = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: aliceUser.user_id }, password: aliceUser.password },
    });
    const second = await startSession(srv(), { ...login.body, password: aliceUser.password });
    sessions.push(second);
    await until('the backup needs the key here', async () => (await second.encryption.refreshBackupStatus()) === 'needs-recovery-key');
    // Undecryptable, they read as waiting (not the sdk's error text), in the views and to screen readers.
    await until('the DM history arrives, undecryptable', () => second.chat.room(dm)
      && second.chat.timeline(dm).filter((i) => i.kind === 'message' && ChatState.bodyOf(i.event) === WAITING_FOR_KEY).length === 2, 20_000);
    assert.equal(waiting(second.chat, dm), 2);

    await assert.rejects(second.encryption.restoreFromRecoveryKey('not a key'), RecoveryKeyError);
    await assert.rejects(second.encryption.restoreFromRecoveryKey(oldRecoveryKey), RecoveryKeyError, 'the key a reset replaced no longer opens the backup');

    const before = second.changes();
    await second.encryption.restoreFromRecoveryKey(recoveryKey);
    await until('the waiting messages decrypt', () => waiting(second.chat, dm) === 0 && texts(second.chat, dm).includes('bringing snacks'), 20_000);
    assert.ok(second.changes() > before, 'the views are told to redraw');
    assert.equal(second.encryption.backup, 'on');
  });

  it('a session whose user lost the recovery key resets secure backup, replacing the identity after the password', async () => {
    const login = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: aliceUser.user_id }, password: aliceUser.password },
    });
    const third = await startSession(srv(), { ...login.body, password: aliceUser.password });
    sessions.push(third);
    await until('the backup needs the key here', async () => (await third.encryption.refreshBackupStatus()) === 'needs-recovery-key');
    const asked: string[] = [];
    const prompt = async (stage: string, error?: string) => {
      asked.push(error ? `${stage} again` : stage);
      return asked.length === 1 ? 'wrong password' : aliceUser.password;
    };
    const fresh = await third.encryption.setUpSecureBackup(prompt);
    assert.deepEqual(asked, ['m.login.password', 'm.login.password again'], 'a wrong password is asked again');
    assert.ok(fresh !== recoveryKey && fresh !== oldRecoveryKey);
    assert.equal(third.encryption.backup, 'on');
    const crypto = third.chat.client.getCrypto()!;
    assert.ok(await crypto.isCrossSigningReady());
    assert.notEqual(await crypto.getCrossSigningKeyId(), identity, 'a new identity replaced the old');
  });
});
