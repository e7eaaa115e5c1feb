import assert from 'node:assert/strict';
import { MatrixEvent } from 'matrix-js-sdk';
import { buildTimeline, dayLabel, GROUP_GAP_MS, shownReplyId } from './timeline.ts';

const ROOM = '!r:test';
let n = 0;
function msg(sender: string, ts: number, body = 'hi', extra: Record<string, unknown> = {}): MatrixEvent {
  return new MatrixEvent({ type: 'm.room.message', room_id: ROOM, sender, origin_server_ts: ts, event_id: `$e${++n}`, content: { msgtype: 'm.text', body, ...extra } });
}

describe('timeline view-model', () => {
  const noon = new Date(2026, 0, 15, 12, 0).getTime();

  it('groups consecutive messages of one sender within the gap, and breaks on sender, gap and replies', () => {
    const events = [
      msg('@a:t', noon),
      msg('@a:t', noon + 60_000),
      msg('@b:t', noon + 120_000),
      msg('@b:t', noon + 120_000 + GROUP_GAP_MS + 1),
      msg('@b:t', noon + 120_000 + GROUP_GAP_MS + 2, 'reply', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$e1' } } }),
    ];
    const items = buildTimeline(events, (u) => u, noon);
    assert.deepEqual(items.map((i) => i.kind === 'message' ? `${i.event.getSender()}${i.continuation ? '+' : ''}` : i.kind),
      ['day', '@a:t', '@a:t+', '@b:t', '@b:t', '@b:t']);
  });

  it("a thread reply's fallback m.in_reply_to is not shown as a reply (nor does it break grouping); a real reply in a thread is", () => {
    const thread = (inReplyTo: string, fallingBack: boolean) => ({ 'm.relates_to': { rel_type: 'm.thread', event_id: '$root', is_falling_back: fallingBack, 'm.in_reply_to': { event_id: inReplyTo } } });
    const fallback = msg('@a:t', noon + 1000, 'in thread', thread('$e1', true));
    const real = msg('@a:t', noon + 2000, 'answering one', thread('$e1', false));
    assert.equal(shownReplyId(fallback), undefined);
    assert.equal(shownReplyId(real), '$e1');
    const items = buildTimeline([msg('@a:t', noon), fallback, real], (u) => u, noon);
    assert.deepEqual(items.map((i) => (i.kind === 'message' ? i.continuation : i.kind)), ['day', false, true, false]);
  });

  it('puts a day separator before the first message of each day and labels today and yesterday', () => {
    const yesterday = noon - 86_400_000;
    const items = buildTimeline([msg('@a:t', yesterday), msg('@a:t', noon)], (u) => u, noon);
    assert.deepEqual(items.map((i) => (i.kind === 'day' ? i.label : 'msg')), ['Yesterday', 'msg', 'Today', 'msg']);
    const second = items[3];
    assert.equal(second.kind === 'message' && second.continuation, false, 'a new day starts a new group');
    assert.match(dayLabel(new Date(2025, 4, 2).getTime(), noon), /2025/);
  });

  it('folds edits and reactions into their message instead of drawing them', () => {
    const original = msg('@a:t', noon, 'first');
    const edit = msg('@a:t', noon + 1000, '* second', { 'm.new_content': { msgtype: 'm.text', body: 'second' }, 'm.relates_to': { rel_type: 'm.replace', event_id: original.getId() } });
    const reaction = new MatrixEvent({ type: 'm.reaction', room_id: ROOM, sender: '@b:t', origin_server_ts: noon + 2000, event_id: '$re', content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: original.getId(), key: '👍' } } });
    const items = buildTimeline([original, edit, reaction], (u) => u, noon);
    assert.deepEqual(items.filter((i) => i.kind === 'message').map((i) => i.key), [original.getId()]);
  });

  it("leaves out the creator's own join right after the creation", () => {
    const create = new MatrixEvent({ type: 'm.room.create', room_id: ROOM, sender: '@a:t', state_key: '', origin_server_ts: noon, event_id: '$c', content: {} });
    const join = new MatrixEvent({ type: 'm.room.member', room_id: ROOM, sender: '@a:t', state_key: '@a:t', origin_server_ts: noon, event_id: '$ja', content: { membership: 'join' } });
    const other = new MatrixEvent({ type: 'm.room.member', room_id: ROOM, sender: '@b:t', state_key: '@b:t', origin_server_ts: noon, event_id: '$jb', content: { membership: 'join' } });
    const items = buildTimeline([create, join, other], (u) => u, noon);
    assert.deepEqual(items.filter((i) => i.kind === 'notice').map((i) => i.kind === 'notice' && i.text), ['@a:t created the chat', '@b:t joined']);
  });

  it('shows membership changes as one-line notices, naming people by display name', () => {
    const join = new MatrixEvent({ type: 'm.room.member', room_id: ROOM, sender: '@b:t', state_key: '@b:t', origin_server_ts: noon, event_id: '$j', content: { membership: 'join' } });
    const invite = new MatrixEvent({ type: 'm.room.member', room_id: ROOM, sender: '@a:t', state_key: '@c:t', origin_server_ts: noon, event_id: '$i', content: { membership: 'invite' } });
    const topicless = new MatrixEvent({ type: 'm.room.power_levels', room_id: ROOM, sender: '@a:t', state_key: '', origin_server_ts: noon, event_id: '$p', content: {} });
    const names: Record<string, string> = { '@a:t': 'Alice', '@b:t': 'Bob', '@c:t': 'Carol' };
    const items = buildTimeline([join, invite, topicless], (u) => names[u] ?? u, noon);
    assert.deepEqual(items.filter((i) => i.kind === 'notice').map((i) => i.kind === 'notice' && i.text), ['Bob joined', 'Alice invited Carol']);
  });

  it('draws an in-room verification request as a line, not as its fallback text', () => {
    const request = msg('@a:t', noon, 'Alice is requesting to verify your key, but your client does not support in-chat key verification.',
      { msgtype: 'm.key.verification.request', to: '@b:t', from_device: 'DEV', methods: ['m.sas.v1'] });
    const items = buildTimeline([request], (u) => (u === '@a:t' ? 'Alice' : 'Bob'), noon);
    assert.deepEqual(items.filter((i) => i.kind !== 'day').map((i) => i.kind === 'notice' && i.text), ['Alice asked to verify Bob']);
  });
});
