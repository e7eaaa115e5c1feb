/**
 * The web client's Whisper screens in Chromium against a real server: two people become
 * friends through the UI (request, the bell, accept), see each other in the friends list,
 * message, and one blocks the other; then two-factor enrolment in Settings (QR code, recovery
 * codes), a sensitive act asking for the code, the audit log and its export, and signing in
 * again with the code. Screenshots of each screen go to spec-tests/artifacts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import type { TestServer } from './harness.ts';
import { screenshot, webClientSuite } from './browser.ts';

const PASSWORD = 'correct horse battery staple';

describe('web client in Chromium: friends, 2FA, security settings', function () {
  this.timeout(60_000);
  const suite = webClientSuite('failed-social-');
  const opened = suite.opened;
  let srv: TestServer;
  let alice: Page;
  let bob: Page;

  before(() => { srv = suite.srv(); });
  // Remove and block ask "are you sure?".
  const openPage = (label: string) => suite.open(label, (page) => page.on('dialog', (d) => void d.accept()));


  async function register(page: Page, username: string): Promise<void> {
    await page.getByRole('tab', { name: 'Create account' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('navigation', { name: 'Chats' }).waitFor();
  }

  const person = (page: Page, userId: string) => page.locator(`li.person[data-user-id="${userId}"]`);

  it('two people become friends through the UI, message, and one blocks the other', async () => {
    alice = await openPage('alice');
    await register(alice, 'alice');
    // The home screen is the friends screen; with no friends it says how to start.
    await alice.getByRole('heading', { name: 'Friends' }).waitFor();
    await alice.getByText('Start a conversation with a friend.').waitFor();
    await screenshot(alice, '20-friends-empty');
    bob = await openPage('bob');
    await register(bob, 'bob');

    // Alice adds Bob by username.
    await alice.getByRole('link', { name: 'Add Friend' }).click();
    await alice.getByRole('textbox', { name: 'Username' }).fill('bob');
    await screenshot(alice, '21-add-friend');
    await alice.getByRole('button', { name: 'Send Friend Request' }).click();
    await alice.getByRole('status').filter({ hasText: 'Friend request sent to bob' }).waitFor();
    await alice.getByRole('link', { name: 'Pending' }).click();
    await person(alice, '@bob:whisper.test').filter({ hasText: 'Outgoing friend request' }).waitFor();
    await screenshot(alice, '22-pending-outgoing');

    // Bob sees it live: a friend request in the sidebar (not a generic invite), the bell's count,
    // and the Friends link's count.
    const request = bob.locator('nav section[aria-label="Friend requests"] a.friend-request');
    await request.waitFor();
    assert.equal(await request.getAttribute('aria-label'), 'Friend request from alice');
    assert.equal(await bob.locator('nav section[aria-label="Invites"]').count(), 0, 'not shown as a chat invite');
    const bell = bob.getByRole('button', { name: /^Notifications/ });
    await bob.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor();
    await screenshot(bob, '23-bob-friend-request');
    await bell.click();
    await bob.locator('.bell-panel li.unread', { hasText: 'alice sent you a friend request' }).waitFor();
    await screenshot(bob, '24-bell-open');
    // Opening the bell marks the feed read (the server says so through sync).
    await bob.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
    await bob.locator('.bell-panel a', { hasText: 'friend request' }).click();
    await person(bob, '@alice:whisper.test').filter({ hasText: 'Incoming friend request' }).waitFor();
    await screenshot(bob, '25-pending-incoming');
    await bob.getByRole('button', { name: 'Accept alice' }).click();
    await bob.getByRole('status').filter({ hasText: 'You and alice are now friends' }).waitFor();
    await request.waitFor({ state: 'detached' });

    // Both see each other in the friends list, with a presence dot; Alice is told of the acceptance.
    await bob.getByRole('link', { name: 'All' }).click();
    await person(bob, '@alice:whisper.test').locator('.presence').waitFor();
    await alice.getByRole('link', { name: 'All' }).click();
    await person(alice, '@bob:whisper.test').locator('.presence').waitFor();
    await alice.getByRole('button', { name: 'Notifications, 1 unread' }).waitFor();
    // Both are signed in and syncing: online (presence arrives through sync).
    await person(alice, '@bob:whisper.test').locator('.presence.online').waitFor();
    await alice.getByRole('link', { name: 'Online' }).click();
    await person(alice, '@bob:whisper.test').waitFor();
    await screenshot(alice, '26-friends-online');

    // "Message" opens the DM the request became; the message arrives at Bob.
    await alice.getByRole('button', { name: 'Message bob' }).click();
    await alice.getByRole('log', { name: 'Messages' }).waitFor();
    await alice.locator('#composer-input').fill('Hi Bob, friends now!');
    await alice.locator('#composer-input').press('Enter');
    const dm = bob.locator('nav a.room', { hasText: 'alice' });
    await dm.locator('.badge').first().waitFor();
    await dm.click();
    await bob.locator('article.message', { hasText: 'friends now!' }).waitFor();

    // Bob blocks Alice: she leaves his friends for his blocked list, and Bob leaves hers.
    await bob.getByRole('link', { name: 'Friends', exact: true }).click();
    await bob.getByRole('link', { name: 'All' }).click();
    await bob.getByRole('button', { name: 'Block alice' }).click();
    await bob.getByRole('status').filter({ hasText: 'alice is blocked' }).waitFor();
    await bob.getByRole('link', { name: 'Blocked' }).click();
    await person(bob, '@alice:whisper.test').getByRole('button', { name: 'Unblock alice' }).waitFor();
    await screenshot(bob, '27-blocked');
    await alice.getByRole('link', { name: 'Friends', exact: true }).click();
    await alice.getByRole('link', { name: 'All' }).click();
    await person(alice, '@bob:whisper.test').waitFor({ state: 'detached' });
    assert.deepEqual([...opened.problems(alice), ...opened.problems(bob)], [], 'no console errors, exceptions or CSP violations');
  });

  it('enrols 2FA in settings with a QR code, uses the code for a sensitive act, reads the audit log, signs in again with the code', async () => {
    await alice.getByRole('link', { name: 'Settings' }).click();
    await alice.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await alice.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    // UIA: the password, in the app's prompt.
    await alice.getByRole('dialog', { name: 'Confirm it’s you' }).waitFor();
    await alice.getByRole('dialog').getByLabel('Password').fill(PASSWORD);
    await alice.getByRole('button', { name: 'Continue' }).click();
    const qr = alice.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    assert.match(await qr.getAttribute('src') ?? '', /^data:image\/svg\+xml/);
    assert.ok(await qr.evaluate((img: HTMLImageElement) => img.complete ? img.naturalWidth : new Promise((r) => { img.onload = () => r(img.naturalWidth); })), 'the QR image renders');
    const secret = (await alice.getByTestId('totp-secret').textContent())!.trim();
    assert.match(secret, /^[A-Z2-7]+=*$/);
    await alice.getByRole('heading', { name: 'Two-factor authentication' }).scrollIntoViewIfNeeded();
    await screenshot(alice, '28-2fa-enrol-qr');
    await alice.getByLabel('Code from the app').fill(await generate({ secret }));
    await alice.getByRole('button', { name: 'Turn on', exact: true }).click();
    const codes = alice.getByRole('list', { name: 'Recovery codes' }).locator('li');
    await codes.first().waitFor();
    assert.equal(await codes.count(), 10);
    const recovery = await codes.allTextContents();
    for (const c of recovery) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
    await screenshot(alice, '29-2fa-recovery-codes');
    const download = alice.waitForEvent('download');
    await alice.getByRole('button', { name: 'Download' }).click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'whisper-recovery-codes.txt');
    assert.ok((await readFile(await file.path())).toString().includes(recovery[9]));
    await alice.getByRole('button', { name: 'I saved them' }).click();
    await alice.locator('.status-line .tag', { hasText: 'On' }).waitFor();

    // A sensitive act now asks for the password, then the code (a recovery code here).
    await alice.getByLabel('New password', { exact: true }).fill('an even better password');
    await alice.getByLabel('Repeat new password').fill('an even better password');
    await alice.getByRole('button', { name: 'Change password' }).click();
    await alice.getByRole('dialog').getByLabel('Password').fill(PASSWORD);
    await alice.getByRole('button', { name: 'Continue' }).click();
    await alice.getByRole('dialog', { name: 'Two-factor code' }).waitFor();
    await alice.getByRole('dialog').getByLabel('Authentication code').fill('000000');
    await alice.getByRole('button', { name: 'Continue' }).click();
    // A wrong code is asked again, saying why.
    await alice.getByRole('dialog').getByRole('alert').waitFor();
    await screenshot(alice, '30-uia-code-prompt');
    await alice.getByRole('dialog').getByLabel('Authentication code').fill(recovery[0]);
    await alice.getByRole('button', { name: 'Continue' }).click();
    await alice.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();

    // Privacy: DMs from everyone.
    await alice.getByLabel('Who can send me direct messages').selectOption('everyone');
    await alice.getByRole('status').filter({ hasText: 'Privacy saved' }).waitFor();

    // The audit log lists what happened, filtered; exports download as files.
    await alice.getByLabel('Show').selectOption({ label: 'Security' });
    const table = alice.locator('.audit-table');
    await table.locator('td code', { hasText: '2fa.enable' }).waitFor();
    assert.equal(await table.locator('td code', { hasText: /^login$/ }).count(), 0, 'the filter leaves sign-ins out');
    await table.scrollIntoViewIfNeeded();
    await screenshot(alice, '31-audit-log');
    const csvDownload = alice.waitForEvent('download');
    await alice.getByRole('button', { name: 'Export CSV' }).click();
    const csv = await csvDownload;
    assert.match(csv.suggestedFilename(), /^whisper-audit-.*\.csv$/);
    const csvText = (await readFile(await csv.path())).toString();
    assert.match(csvText.split('\n')[0], /^id,time,kind/);
    assert.match(csvText, /2fa\.enable/);

    // Signing out and in again asks for the code.
    await alice.getByRole('button', { name: 'Sign out', exact: true }).last().click();
    await alice.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await alice.getByLabel('Username').fill('alice');
    await alice.getByLabel('Password').fill('an even better password');
    await alice.getByRole('button', { name: 'Sign in' }).click();
    await alice.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await screenshot(alice, '32-sign-in-2fa');
    // The code that turned 2FA on is spent; the next period's code is accepted.
    await alice.getByLabel('Authentication code').fill(await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    await alice.getByRole('button', { name: 'Verify and sign in' }).click();
    await alice.getByRole('navigation', { name: 'Chats' }).waitFor();
    await alice.getByRole('heading', { name: 'Friends' }).waitFor();
    assert.deepEqual(opened.problems(alice), [], 'no console errors, exceptions or CSP violations');
  });
});
