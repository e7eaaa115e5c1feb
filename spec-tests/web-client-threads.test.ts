/**
 * Threads and long rooms in Chromium against a real server. Two people talk in a thread: the
 * root shows "N replies" with the latest reply and the thread's unread count, the replies stay
 * out of the room's timeline, the thread panel updates live on both sides, a picture attached
 * from the thread's composer goes into the thread. Then a room with
 * 600 messages is scrolled back to its start: the page never draws more than the timeline's
 * window (a bounded number of elements), the reader's place is kept as older messages load,
 * and "Jump to present" returns to the newest. Screenshots go to spec-tests/artifacts.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { WINDOW_LIMIT } from '../client/src/state/roomWindow.ts';
import { screenshot, webClientSuite } from './browser.ts';
import type { TestServer, TestUser } from './harness.ts';

const LONG_ROOM_MESSAGES = 600;

describe('web client in Chromium: threads and long rooms', function () {
  this.timeout(120_000);
  const suite = webClientSuite('failed-threads-');
  const { opened, signIn } = suite;
  let srv: TestServer;
  let aliceUser: TestUser;
  let bobUser: TestUser;

  before(async () => {
    srv = suite.srv();
    aliceUser = await srv.register('alice');
    bobUser = await srv.register('bob');
  });

  /** A group both are in, made through the API (this test is about what the app draws). */
  async function groupOf(name: string, members: TestUser[]): Promise<string> {
    const [owner, ...rest] = members;
    const { body } = await srv.request('POST', '/_matrix/client/v3/createRoom', { token: owner.access_token, body: { name, invite: rest.map((u) => u.user_id) } });
    for (const u of rest) await srv.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(body.room_id)}`, { token: u.access_token, body: {} });
    return body.room_id;
  }

  const openRoom = async (page: Page, name: string) => {
    await page.locator('nav a.room', { hasText: name }).click();
    await page.getByRole('heading', { name }).waitFor();
  };
  const inTimeline = (page: Page, text: string) => page.locator('.timeline article.message', { hasText: text });
  /** A message whose own text (not its thread summary) holds `text`. */
  const bodyInTimeline = (page: Page, text: string) => page.locator('.timeline article.message .body', { hasText: text });
  const inThread = (page: Page, text: string) => page.locator('.thread-panel article.message', { hasText: text });

  it('two people talk in a thread: reply summary with unread count, a live side panel, replies kept out of the timeline', async () => {
    const roomId = await groupOf('Raid night', [aliceUser, bobUser]);
    const alice = await signIn('alice', aliceUser);
    const bob = await signIn('bob', bobUser);
    await openRoom(alice, 'Raid night');
    await openRoom(bob, 'Raid night');

    await alice.locator('#composer-input').fill('Anyone up for a raid tonight?');
    await alice.locator('#composer-input').press('Enter');
    const rootAtBob = inTimeline(bob, 'Anyone up for a raid tonight?');
    await rootAtBob.waitFor();

    // Bob answers in a thread from the message's toolbar.
    await rootAtBob.hover();
    await rootAtBob.getByRole('button', { name: 'Open thread' }).click();
    await bob.getByRole('complementary', { name: 'Thread' }).waitFor();
    await inThread(bob, 'Anyone up for a raid tonight?').waitFor();
    const bobBox = bob.locator('#thread-composer-input');
    assert.equal(await bob.evaluate(() => document.activeElement?.id), 'thread-composer-input', 'the thread composer has the focus');
    await bobBox.fill("I'm in, 9pm?");
    await bobBox.press('Enter');
    await inThread(bob, "I'm in, 9pm?").waitFor();

    // Alice sees the root's summary with the reply and an unread count, not the reply itself.
    const summary = inTimeline(alice, 'Anyone up for a raid tonight?').locator('.thread-summary');
    await summary.filter({ hasText: '1 reply' }).filter({ hasText: "I'm in, 9pm?" }).waitFor();
    await summary.locator('.badge', { hasText: '1' }).waitFor();
    assert.match(await summary.getAttribute('aria-label') ?? '', /1 reply, 1 unread/);
    assert.equal(await bodyInTimeline(alice, "I'm in, 9pm?").count(), 0, 'the reply is not in the room timeline');
    await screenshot(alice, '50-thread-summary-unread');

    // The header's Threads button counts it too, and lists the room's threads.
    const threadsButton = alice.getByRole('button', { name: 'Threads, 1 unread' });
    await threadsButton.click();
    const entry = alice.getByRole('complementary', { name: 'Threads' }).locator('button.thread-entry', { hasText: 'Anyone up for a raid tonight?' });
    await entry.filter({ hasText: '1 reply' }).waitFor();
    await screenshot(alice, '53-thread-list');

    // Alice opens the thread from there: the reply is there, the unread count goes; she answers.
    await entry.click();
    await inThread(alice, "I'm in, 9pm?").waitFor();
    await summary.locator('.badge').waitFor({ state: 'detached' });
    await alice.getByRole('button', { name: 'Threads', exact: true }).waitFor();
    await alice.locator('#thread-composer-input').fill('9pm works, bring potions');
    await alice.locator('#thread-composer-input').press('Enter');

    // Bob's open panel shows it live; the room timeline still has only the root.
    await inThread(bob, '9pm works, bring potions').waitFor();
    await inTimeline(bob, 'Anyone up for a raid tonight?').locator('.thread-summary', { hasText: '2 replies' }).waitFor();
    assert.equal(await bodyInTimeline(bob, '9pm works').count(), 0);
    assert.equal(await bob.locator('.thread-panel .reply-quote').count(), 0, 'the reply fallback of thread replies is not drawn as a quote');
    await screenshot(alice, '51-thread-panel-alice');
    await screenshot(bob, '52-thread-panel-bob');

    // On the wire: m.thread to the root, the reply fallback pointing at the latest reply.
    const { body } = await srv.request('GET', `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(await rootId(bob))}/m.thread`, { token: aliceUser.access_token });
    const [latest, earlier] = body.chunk;
    assert.equal(latest.content.body, '9pm works, bring potions');
    assert.equal(latest.content['m.relates_to'].is_falling_back, true);
    assert.equal(latest.content['m.relates_to']['m.in_reply_to'].event_id, earlier.event_id);

    // The thread's composer attaches files too: Bob's picture goes into the thread, not the room.
    const png = await sharp({ create: { width: 160, height: 100, channels: 3, background: { r: 240, g: 200, b: 20 } } }).png().toBuffer();
    await bob.getByRole('complementary', { name: 'Thread' }).getByLabel('Attach files').setInputFiles({ name: 'raid-map.png', mimeType: 'image/png', buffer: png });
    await alice.locator('.thread-panel article.message img.preview[alt="raid-map.png"]').waitFor();
    await inTimeline(alice, 'Anyone up for a raid tonight?').locator('.thread-summary', { hasText: 'raid-map.png' }).filter({ hasText: '3 replies' }).waitFor();
    assert.equal(await alice.locator('.thread-panel .thread-count').textContent(), '3 replies');
    assert.equal(await alice.locator('.timeline img.preview').count(), 0, 'the picture is not in the room timeline');
    const withPicture = await srv.request('GET', `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(await rootId(bob))}/m.thread`, { token: aliceUser.access_token });
    assert.equal(withPicture.body.chunk[0].content.msgtype, 'm.image');
    assert.equal(withPicture.body.chunk[0].content['m.relates_to'].rel_type, 'm.thread');
    await screenshot(alice, '54-thread-picture');

    // The panel closes; the main composer still posts to the room.
    await alice.getByRole('button', { name: 'Close thread' }).click();
    await alice.getByRole('complementary', { name: 'Thread' }).waitFor({ state: 'detached' });
    assert.deepEqual([...opened.problems(alice), ...opened.problems(bob)], []);
  });

  async function rootId(page: Page): Promise<string> {
    return (await inTimeline(page, 'Anyone up for a raid tonight?').getAttribute('data-event-id'))!;
  }

  it(`a room with ${LONG_ROOM_MESSAGES} messages scrolls back to its start with a bounded DOM, keeping the reader's place`, async () => {
    const roomId = await groupOf('Long history', [aliceUser]);
    let next = 0;
    const send = async () => {
      while (next < LONG_ROOM_MESSAGES) {
        const i = next++;
        await srv.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/h${i}`, { token: aliceUser.access_token, body: { msgtype: 'm.text', body: `history ${i}` } });
      }
    };
    await Promise.all(Array.from({ length: 8 }, send));
    // Sent in parallel, so their order is nearly that of their numbers; this one is surely last.
    await srv.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/newest`, { token: aliceUser.access_token, body: { msgtype: 'm.text', body: 'the newest message' } });
    const page = opened.pages.find(([label]) => label === 'alice')![1];
    await openRoom(page, 'Long history');
    const timeline = page.getByRole('log', { name: 'Messages' });
    await inTimeline(page, 'the newest message').waitFor();
    const elementsOnOpen = await page.evaluate(() => document.getElementsByTagName('*').length);

    const seen = new Set<string>();
    let mostMessages = 0;
    let mostElements = 0;
    let keptPlace = 0;
    for (let round = 0; round < 60 && !(await page.locator('.history-edge.start').count()); round++) {
      // Scroll to the top; older messages load above the one the reader looked at, which stays put.
      const before = await page.evaluate(() => {
        const el = document.querySelector('.timeline')!;
        el.scrollTop = 0;
        const first = el.querySelector<HTMLElement>('article.message[data-event-id]')!;
        return { id: first.dataset.eventId!, top: first.getBoundingClientRect().top };
      });
      // (The last page may hold only the room's first state events: then the start shows.)
      await page.waitForFunction((id) => (document.querySelector('.timeline article.message')?.getAttribute('data-event-id') !== id
        || !!document.querySelector('.timeline .history-edge.start')) && !document.querySelector('.timeline .history-edge[role=status]'), before.id);
      const after = await page.evaluate((id) => document.querySelector(`.timeline article.message[data-event-id="${CSS.escape(id)}"]`)?.getBoundingClientRect().top, before.id);
      if (after !== undefined && Math.abs(after - before.top) <= 2) keptPlace++;
      const drawn = await page.evaluate(() => ({
        ids: [...document.querySelectorAll('.timeline article.message')].map((e) => e.getAttribute('data-event-id')!),
        elements: document.getElementsByTagName('*').length,
      }));
      drawn.ids.forEach((id) => seen.add(id));
      mostMessages = Math.max(mostMessages, drawn.ids.length);
      mostElements = Math.max(mostElements, drawn.elements);
      if (round === 3) await screenshot(page, '60-long-room-scrolled-back');
    }
    await inTimeline(page, 'history 0').first().waitFor();
    assert.ok(seen.size >= LONG_ROOM_MESSAGES, `every message was drawn on the way (${seen.size})`);
    assert.ok(mostMessages <= WINDOW_LIMIT, `never more than the window's ${WINDOW_LIMIT} messages in the page (${mostMessages})`);
    // About 20 elements a message, plus the page around the timeline.
    assert.ok(mostElements < elementsOnOpen + WINDOW_LIMIT * 20, `the page stays small: ${mostElements} elements (${elementsOnOpen} on open)`);
    assert.ok(keptPlace >= 3, `the reader's place was kept as older messages loaded (${keptPlace} times)`);
    assert.equal(await inTimeline(page, 'the newest message').count(), 0, 'the newest messages were dropped from the page');
    await screenshot(page, '61-long-room-start');

    // Back to the newest messages in one click.
    await page.getByRole('button', { name: 'Jump to present' }).click();
    await page.locator('.timeline article.message').last().filter({ hasText: 'the newest message' }).waitFor();
    await page.getByRole('button', { name: 'Jump to present' }).waitFor({ state: 'detached' });
    assert.ok(await timeline.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 40), 'scrolled to the bottom');
    assert.deepEqual(opened.problems(page), []);
  });
});
