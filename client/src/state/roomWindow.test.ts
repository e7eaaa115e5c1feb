/**
 * The timeline window against a real server: scrolling back through a long room draws at most
 * WINDOW_LIMIT events however far back it goes (older ones through /messages, newer ones
 * dropped), scrolling down brings the newer ones back from memory, and a live message joins
 * the window only while the newest messages are drawn.
 */
import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { describeServer, type TestUser } from '../../../spec-tests/harness.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { ChatState } from './chat.ts';
import { startChat, bodies } from './chatTesting.ts';
import { WINDOW_LIMIT } from './roomWindow.ts';

/** The oldest event drawn (the last page may hold only the room's first state events). */
const firstKey = (chat: ChatState, roomId: string) => chat.timeline(roomId).find((i) => i.kind !== 'day')?.key;

const MESSAGES = 400;

describeServer('ChatState: the timeline window of a long room', {}, (srv) => {
  let chat: ChatState;
  let user: TestUser;
  let roomId: string;

  before(async () => {
    user = await srv().register();
    const { body } = await srv().request('POST', '/_matrix/client/v3/createRoom', { token: user.access_token, body: { name: 'long' } });
    roomId = body.room_id;
    for (let i = 0; i < MESSAGES; i++) {
      await srv().request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${i}`, { token: user.access_token, body: { msgtype: 'm.text', body: `message ${i}` } });
    }
    chat = await startChat(srv(), user);
  });
  after(() => chat?.stop());

  it('scrolling back to the start draws a bounded window; scrolling down brings the newest back', async () => {
    assert.equal(bodies(chat, roomId).at(-1), `message ${MESSAGES - 1}`);
    assert.equal(chat.isAtLatest(roomId), true);
    let pages = 0;
    let largest = 0;
    while (chat.hasMoreHistory(roomId) && pages < 50) {
      const before = firstKey(chat, roomId);
      assert.equal(await chat.loadOlder(roomId), true);
      assert.notEqual(firstKey(chat, roomId), before, 'older events are drawn at the top');
      largest = Math.max(largest, chat.timeline(roomId).length);
      pages++;
    }
    const drawn = bodies(chat, roomId);
    assert.equal(drawn[0], 'message 0', 'the start of the room was reached');
    assert.ok(drawn.length < WINDOW_LIMIT, `at most the window is drawn (${drawn.length})`);
    assert.ok(largest <= WINDOW_LIMIT + 10, `never more than the window plus separators (${largest})`);
    assert.ok(!drawn.includes(`message ${MESSAGES - 1}`), 'the newest messages were dropped');
    assert.equal(chat.isAtLatest(roomId), false);
    // In order, with no gaps.
    drawn.forEach((b, i) => assert.equal(b, `message ${i}`));

    // A message arriving meanwhile waits below the window.
    await chat.sendText(roomId, 'sent while scrolled back');
    await until('the echo in the sdk', () => chat.room(roomId)!.getLiveTimeline().getEvents().some((e) => e.getContent().body === 'sent while scrolled back'));
    assert.ok(!bodies(chat, roomId).includes('sent while scrolled back'));

    // Scrolling down again: from memory, the window moves forward until the newest.
    let forward = 0;
    while (!chat.isAtLatest(roomId) && forward < 50) {
      await chat.loadNewer(roomId);
      assert.ok(chat.timeline(roomId).length <= WINDOW_LIMIT + 10);
      forward++;
    }
    assert.equal(chat.isAtLatest(roomId), true);
    assert.equal(bodies(chat, roomId).at(-1), 'sent while scrolled back');
    assert.equal(bodies(chat, roomId)[0] === 'message 0', false, 'the oldest were dropped on the way');
  });

  it('a live message joins a window at the newest end; "jump to present" returns there from far back', async () => {
    await chat.sendText(roomId, 'live one');
    await until('the live message drawn', () => bodies(chat, roomId).includes('live one'));
    assert.ok(chat.timeline(roomId).length <= WINDOW_LIMIT + 10);
    while (chat.hasMoreHistory(roomId)) await chat.loadOlder(roomId);
    assert.equal(chat.isAtLatest(roomId), false);
    chat.jumpToLatest(roomId);
    assert.equal(chat.isAtLatest(roomId), true);
    assert.equal(bodies(chat, roomId).at(-1), 'live one');
  });
});
