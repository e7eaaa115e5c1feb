/**
 * The state layer's Whisper features against a real server: friends (request, accept, live
 * through org.whisper.friends, presence, block), the notifications feed, sign-in with the
 * second factor, user-interactive auth asking for password and then code, audit paging, and
 * adding an email address through its mailed link (a real SMTP server on loopback).
 */
import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import { describeServer, type TestUser } from '../../../spec-tests/harness.ts';
import { startSmtpInbox } from '../../../spec-tests/smtpInbox.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { startChat } from './chatTesting.ts';
import { AuthError, SessionStore, TOTP_REQUIRED, type KeyValueStore } from './session.ts';
import type { UiaStage } from './uia.ts';

function memoryStore(): KeyValueStore {
  const data = new Map<string, string>();
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

/** The code an authenticator shows `stepsAhead` periods from now (each code is good once). */
const codeFor = (secret: string, stepsAhead = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * stepsAhead });

describeServer('ChatState: friends, blocks and notifications', {}, (srv) => {
  let alice: ChatState;
  let bob: ChatState;
  const chats: ChatState[] = [];

  before(async () => {
    alice = await startChat(srv(), await srv().register('alice'));
    bob = await startChat(srv(), await srv().register('bob'));
    chats.push(alice, bob);
  });
  after(() => chats.forEach((c) => c.stop()));

  it('a request by username arrives live as an incoming request, a friend-request invite and a notification', async () => {
    assert.equal(await alice.friends.request('bob'), 'pending');
    assert.deepEqual(alice.friends.outgoing.map((r) => r.user_id), ['@bob:whisper.test']);
    // Nothing but sync tells bob: the account data event makes his state re-read the lists.
    await until('bob sees the request', () => bob.friends.incoming.some((r) => r.user_id === '@alice:whisper.test'));
    const invite = await until('the request invite in bob\'s rooms', () => bob.rooms().find((r) => r.membership === 'invite'));
    assert.equal(invite.friendRequest, true, 'shown as a friend request, not a generic invite');
    assert.equal(invite.inviter, '@alice:whisper.test');
    await until('the unread notification count', () => bob.friends.unreadNotifications() === 1);
    assert.deepEqual(bob.friends.notifications.map((n) => [n.kind, n.user_id, n.read]), [['friend_request', '@alice:whisper.test', false]]);
    await bob.friends.markAllRead();
    await until('read through sync', () => bob.friends.unreadNotifications() === 0);
  });

  it('accepting makes both friends, with presence and the DM the request became', async () => {
    const roomId = await bob.friends.accept('@alice:whisper.test');
    assert.deepEqual(bob.friends.friends.map((f) => f.user_id), ['@alice:whisper.test']);
    assert.equal(bob.friends.friend('@alice:whisper.test')?.room_id, roomId);
    await until('alice sees the friend', () => alice.friends.isFriend('@bob:whisper.test') && alice.friends.friends.length === 1);
    assert.deepEqual(alice.friends.outgoing, []);
    assert.ok(['online', 'idle', 'offline'].includes(alice.friends.presence(alice.friends.friends[0])));
    await until('alice is told of the acceptance', () => alice.friends.notifications.some((n) => n.kind === 'friend_accepted' && n.user_id === '@bob:whisper.test'));
    await until('the room is a joined DM for bob', () => bob.rooms().find((r) => r.roomId === roomId && r.membership === 'join' && r.kind === 'dm'));
  });

  it('declines and cancels clear requests on both sides', async () => {
    const carol = await startChat(srv(), await srv().register('carol'));
    chats.push(carol);
    await carol.friends.request('@alice:whisper.test');
    await until('alice sees carol', () => alice.friends.incoming.length === 1);
    await alice.friends.decline('@carol:whisper.test');
    assert.deepEqual(alice.friends.incoming, []);
    await until('carol\'s outgoing is gone', () => carol.friends.outgoing.length === 0);
    await carol.friends.request('alice');
    await until('alice sees carol again', () => alice.friends.incoming.length === 1);
    await carol.friends.cancel('@alice:whisper.test');
    await until('the request is gone at alice', () => alice.friends.incoming.length === 0);
    await assert.rejects(carol.friends.request('nobody-here'), (e: any) => e.errcode === 'M_NOT_FOUND');
  });

  it('blocking ends the friendship and lists the user; unblocking lists them no more', async () => {
    await alice.friends.block('@bob:whisper.test');
    assert.deepEqual(alice.friends.blocked.map((b) => b.user_id), ['@bob:whisper.test']);
    assert.deepEqual(alice.friends.friends, []);
    assert.ok(alice.friends.isBlocked('@bob:whisper.test'));
    await until('bob loses the friend', () => bob.friends.friends.length === 0);
    await alice.friends.unblock('@bob:whisper.test');
    assert.deepEqual(alice.friends.blocked, []);
  });

  it('privacy settings read and change', async () => {
    assert.deepEqual(await alice.friends.privacy(), { dm_from: 'friends', group_invites_from: 'everyone' });
    assert.deepEqual(await alice.friends.setPrivacy({ dm_from: 'everyone' }), { dm_from: 'everyone', group_invites_from: 'everyone' });
    await until('privacy through sync', () => alice.friends.privacyFromSync()?.dm_from === 'everyone');
  });
});

describeServer('ChatState: two-factor sign-in, UIA with the code, audit paging', {}, (srv) => {
  let user: TestUser;
  let chat: ChatState;
  let secret: string;
  let recovery: string[];
  const asked: [UiaStage, string | undefined][] = [];
  /** Answers each prompt from a queue, recording what was asked. */
  let answers: string[] = [];

  before(async () => {
    user = await srv().register('dana');
    chat = await startChat(srv(), user);
    chat.authPrompt = async (stage, error) => {
      asked.push([stage, error]);
      const next = answers.shift();
      if (next === undefined) throw new Error(`unexpected prompt for ${stage}`);
      return next;
    };
  });
  after(() => chat.stop());

  it('enrols through UIA (password), confirms with a code, and gets ten recovery codes', async () => {
    assert.deepEqual(await chat.security.twoFactor(), { enabled: false, pending: false, recovery_codes_left: 0 });
    answers = ['wrong password', user.password];
    const enrolment = await chat.security.enrolTotp();
    assert.deepEqual(asked.map(([s]) => s), ['m.login.password', 'm.login.password']);
    assert.equal(asked[0][1], undefined);
    assert.ok(asked[1][1], 'a wrong password is asked again with the server\'s message');
    assert.match(enrolment.otpauth_uri, /^otpauth:\/\/totp\//);
    secret = enrolment.secret;
    await assert.rejects(chat.security.confirmTotp('000000'));
    recovery = await chat.security.confirmTotp(await codeFor(secret));
    assert.equal(recovery.length, 10);
    assert.equal((await chat.security.twoFactor()).enabled, true);
  });

  it('sign-in answers TOTP_REQUIRED, then works with the code or a recovery code', async () => {
    const sessions = new SessionStore(memoryStore(), srv().url);
    await assert.rejects(sessions.login(srv().url, 'dana', user.password), (e: AuthError) => e.errcode === TOTP_REQUIRED);
    await assert.rejects(sessions.login(srv().url, 'dana', user.password, 'Whisper', '000000'), (e: AuthError) => e.errcode === 'M_FORBIDDEN');
    const s = await sessions.login(srv().url, 'dana', user.password, 'Whisper', await codeFor(secret, 1));
    assert.equal(s.userId, '@dana:whisper.test');
    const r = await sessions.login(srv().url, 'dana', user.password, 'Whisper', recovery[0]);
    assert.equal(r.userId, '@dana:whisper.test');
  });

  it('a sensitive act asks for the password and then the code (change password, sign a session out)', async () => {
    asked.length = 0;
    answers = [user.password, recovery[1]];
    await chat.security.changePassword('a brand new password');
    assert.deepEqual(asked.map(([s]) => s), ['m.login.password', 'org.whisper.totp']);
    user.password = 'a brand new password';
    const other = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dana' }, password: user.password, 'org.whisper.totp_code': recovery[2] },
    });
    assert.equal(other.status, 200, JSON.stringify(other.body));
    // The password is given up front; only the code is asked.
    asked.length = 0;
    answers = [recovery[3]];
    await chat.deleteDevice(other.body.device_id, user.password);
    assert.deepEqual(asked.map(([s]) => s), ['org.whisper.totp']);
    assert.ok(!(await chat.devices()).some((d) => d.deviceId === other.body.device_id));
  });

  it('new recovery codes and turning 2FA off go through the same UIA', async () => {
    answers = [user.password, recovery[4]];
    const fresh = await chat.security.regenerateRecoveryCodes();
    assert.equal(fresh.length, 10);
    assert.notDeepEqual(fresh, recovery);
    answers = [user.password, fresh[0]];
    await chat.security.disableTotp();
    assert.equal((await chat.security.twoFactor()).enabled, false);
  });

  it('the audit log pages newest first, filters by kind, and exports', async () => {
    const first = await chat.security.audit({ limit: 3 });
    assert.equal(first.entries.length, 3);
    assert.ok(first.next_batch);
    const second = await chat.security.audit({ limit: 3, from: first.next_batch });
    assert.ok(second.entries.length > 0);
    assert.ok(Number(second.entries[0].id) < Number(first.entries[2].id), 'older entries on the next page');
    const kinds = (await chat.security.audit({ kinds: ['2fa.enable', '2fa.disable'], limit: 50 })).entries.map((e) => e.kind);
    assert.deepEqual(kinds, ['2fa.disable', '2fa.enable']);
    const json = await chat.security.exportAudit('json', ['2fa.enable']);
    assert.match(json.filename, /\.json$/);
    assert.deepEqual(JSON.parse(await json.blob.text()).map((e: { kind: string }) => e.kind), ['2fa.enable']);
    const csv = await chat.security.exportAudit('csv');
    assert.match((await csv.blob.text()).split('\n')[0], /^id,time,kind/);
  });
});

/** A real SMTP server on loopback keeping what it is sent, for the email flow. */
const smtp = await startSmtpInbox();
const inbox = smtp.mails;
after(() => smtp.close());

describeServer('ChatState: email addresses', smtp.config, (srv) => {
  it('adds an address once its mailed link is opened (UIA password), lists and removes it', async () => {
    const user = await srv().register();
    const chat = await startChat(srv(), user);
    try {
      const asked: UiaStage[] = [];
      chat.authPrompt = async (stage) => {
        asked.push(stage);
        return user.password;
      };
      const address = `${user.user_id.slice(1, user.user_id.indexOf(':'))}@example.org`;
      assert.deepEqual(await chat.security.emails(), []);
      const pending = await chat.security.requestEmail(address);
      // Finishing before the link is opened says so, and the user can still finish later.
      await assert.rejects(chat.security.addEmail(pending), (e: any) => e.errcode === 'M_THREEPID_AUTH_FAILED');
      const mail = await until('the mail', () => inbox.find((m) => m.to === address));
      const link = /(http:\/\/\S+\/_whisper\/email\/validate\?\S+)/.exec(mail.text)?.[1];
      assert.ok(link, mail.text);
      assert.equal((await fetch(link)).status, 200);
      await chat.security.addEmail(pending);
      assert.ok(asked.includes('m.login.password'));
      assert.deepEqual(await chat.security.emails(), [address]);
      await chat.security.removeEmail(address);
      assert.deepEqual(await chat.security.emails(), []);
    } finally {
      chat.stop();
    }
  });
});
