import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import type { MatrixClient } from 'matrix-js-sdk';
import { describeServer, type TestServer, type TestUser } from '../../../spec-tests/harness.ts';
import { startSdk, until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { encryptionStateEvent } from './crypto.ts';
import { VerificationError, VerificationState, type VerificationStep } from './verification.ts';

interface Side { client: MatrixClient; verification: VerificationState }

/** A signed-in session running Rust crypto (in memory: Node has no IndexedDB), with its verification state. */
async function open(srv: TestServer, user: TestUser): Promise<Side> {
  const client = await startSdk(srv, user, { crypto: true });
  const verification = new VerificationState(client);
  verification.prompt = async () => user.password;
  // As the app does once crypto runs: a first session makes the account's identity.
  await verification.setUpIdentityIfNone();
  return { client, verification };
}

async function signInAgain(srv: TestServer, user: TestUser): Promise<TestUser> {
  const login = await srv.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: user.password },
  });
  assert.equal(login.status, 200);
  return { ...user, ...login.body };
}

const stepOf = (s: Side): VerificationStep | undefined => s.verification.current?.step;
const emojiNames = (s: Side) => s.verification.current?.emojis?.map(([emoji, name]) => `${emoji} ${name}`);

/** Both sides compare the emojis (the same seven), and both say they match. */
async function compareAndMatch(a: Side, b: Side): Promise<void> {
  await until('both sides show the emojis', () => stepOf(a) === 'emojis' && stepOf(b) === 'emojis', 20_000);
  assert.equal(emojiNames(a)!.length, 7);
  assert.deepEqual(emojiNames(a), emojiNames(b), 'the same seven emojis on both sides');
  await Promise.all([a.verification.match(), b.verification.match()]);
  await until('both sides are done', () => stepOf(a) === 'done' && stepOf(b) === 'done', 20_000);
}

describeServer('VerificationState: emoji verification of sessions and people over Rust crypto', {}, (srv) => {
  let aliceUser: TestUser;
  let bobUser: TestUser;
  let alice: Side;
  let laptop: Side;
  let bob: Side;
  let dm: string;
  const sides: Side[] = [];

  before(async () => {
    aliceUser = await srv().register('alice');
    bobUser = await srv().register('bob');
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bobUser.access_token, body: { dm_from: 'everyone' } });
    alice = await open(srv(), aliceUser);
    bob = await open(srv(), bobUser);
    sides.push(alice, bob);
  });
  after(() => sides.forEach((s) => { s.verification.stop(); s.client.stopClient(); }));

  it('a new session of alice is unverified until her first session verifies it with emojis', async () => {
    await assert.rejects(alice.verification.verifyThisSession(), VerificationError, 'with no other session, only the recovery key can');
    laptop = await open(srv(), await signInAgain(srv(), aliceUser));
    sides.push(laptop);
    await until('the first session is verified (it made the identity)', () => alice.verification.thisSession() === 'verified');
    await until('the new session sees itself unverified', () => laptop.verification.thisSession() === 'unverified');
    await until('the first session sees the new one unverified', () => alice.verification.isOwnDeviceVerified(laptop.client.getDeviceId()!) === false);
    assert.equal(await laptop.verification.hasOtherSessions(), true);

    await laptop.verification.verifyThisSession();
    assert.equal(stepOf(laptop), 'waiting');
    assert.equal(laptop.verification.current!.self, true);
    await until('the request reaches the first session', () => stepOf(alice) === 'incoming', 20_000);
    assert.equal(alice.verification.current!.otherDeviceId, laptop.client.getDeviceId());
    await alice.verification.accept();
    await compareAndMatch(laptop, alice);

    await until('the first session sees the new one verified', () => alice.verification.isOwnDeviceVerified(laptop.client.getDeviceId()!) === true, 20_000);
    await until('the new session sees itself verified', () => laptop.verification.thisSession() === 'verified', 20_000);
    await until('the new session got the cross-signing keys from the first', () => laptop.client.getCrypto()!.isCrossSigningReady(), 20_000);
    await laptop.verification.cancel();
    assert.equal(laptop.verification.current, undefined, 'closing a finished verification clears it');
  });

  it('alice verifies bob in their DM: each then trusts the other through cross-signing', async () => {
    const room = await alice.client.createRoom({ is_direct: true, invite: [bobUser.user_id], initial_state: [encryptionStateEvent()] });
    dm = room.room_id;
    await until('the invite at bob', () => bob.client.getRoom(dm)?.getMyMembership() === 'invite');
    await bob.client.joinRoom(dm);
    await until('alice sees bob join', () => alice.client.getRoom(dm)?.getMember(bobUser.user_id)?.membership === 'join');
    assert.equal(alice.verification.isUserVerified(bobUser.user_id) ?? false, false);

    await alice.verification.verifyUser(bobUser.user_id, dm);
    assert.equal(stepOf(alice), 'waiting');
    await until('bob is asked', () => stepOf(bob) === 'incoming', 20_000);
    assert.equal(bob.verification.current!.otherUserId, aliceUser.user_id);
    assert.equal(bob.verification.current!.self, false);
    // A desktop notification of the request says what it is, not the fallback for clients that cannot verify.
    const request = bob.client.getRoom(dm)!.getLiveTimeline().getEvents().find((e) => e.getContent().msgtype === 'm.key.verification.request')!;
    assert.equal(ChatState.bodyOf(request), 'Wants to verify you');
    await bob.verification.accept();
    await compareAndMatch(alice, bob);

    await until('alice sees bob verified', () => alice.verification.isUserVerified(bobUser.user_id) === true, 20_000);
    await until('bob sees alice verified', () => bob.verification.isUserVerified(aliceUser.user_id) === true, 20_000);
    // Cross-signing trust: alice's other session trusts bob too, by her identity, without verifying him itself.
    await until('alice\'s laptop sees bob verified', () => laptop.verification.isUserVerified(bobUser.user_id) === true, 20_000);
    // The server keeps the signatures: alice's user-signing key on bob's master key.
    const keys = await srv().request('POST', '/_matrix/client/v3/keys/query', { token: aliceUser.access_token, body: { device_keys: { [bobUser.user_id]: [] } } });
    assert.ok(keys.body.master_keys[bobUser.user_id].signatures[aliceUser.user_id], 'alice signed bob\'s master key');
    await alice.verification.cancel();
    await bob.verification.cancel();
  });

  it('emojis that do not match cancel it on both sides, and a declined request says so', async () => {
    const carolUser = await srv().register('carol');
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: carolUser.access_token, body: { dm_from: 'everyone' } });
    const carol = await open(srv(), carolUser);
    sides.push(carol);
    const room = await alice.client.createRoom({ is_direct: true, invite: [carolUser.user_id], initial_state: [encryptionStateEvent()] });
    await until('the invite at carol', () => carol.client.getRoom(room.room_id)?.getMyMembership() === 'invite');
    await carol.client.joinRoom(room.room_id);
    await until('alice sees carol join', () => alice.client.getRoom(room.room_id)?.getMember(carolUser.user_id)?.membership === 'join');

    await alice.verification.verifyUser(carolUser.user_id, room.room_id);
    await until('carol is asked', () => stepOf(carol) === 'incoming', 20_000);
    await carol.verification.accept();
    await until('both show the emojis', () => stepOf(alice) === 'emojis' && stepOf(carol) === 'emojis', 20_000);
    carol.verification.mismatch();
    await until('both are cancelled', () => stepOf(alice) === 'cancelled' && stepOf(carol) === 'cancelled', 20_000);
    assert.match(alice.verification.current!.reason!, /did not match/);
    assert.match(carol.verification.current!.reason!, /did not match/);
    await until('carol stays unverified', () => alice.verification.isUserVerified(carolUser.user_id) === false);
    await alice.verification.cancel();
    await carol.verification.cancel();

    await alice.verification.verifyUser(carolUser.user_id, room.room_id);
    await until('carol is asked again', () => stepOf(carol) === 'incoming', 20_000);
    await carol.verification.cancel();
    await until('alice sees the refusal', () => stepOf(alice) === 'cancelled', 20_000);
    assert.match(alice.verification.current!.reason!, /other side cancelled/);
    assert.equal(carol.verification.current, undefined, 'a declined request leaves nothing on screen');

    // A request withdrawn before it is answered disappears from the other side.
    await alice.verification.cancel();
    await alice.verification.verifyUser(carolUser.user_id, room.room_id);
    await until('carol is asked once more', () => stepOf(carol) === 'incoming', 20_000);
    await alice.verification.cancel();
    await until('the request is gone at carol', () => carol.verification.current === undefined, 20_000);
  });
});
