import assert from 'node:assert/strict';
import { EventMatcher, evaluatePushRules, globMatch, lookupKey, parseMemberCount, splitKeyPath } from './evaluate.ts';
import type { PushContext, PushEvent } from './evaluate.ts';
import { buildPushRules } from './ruleset.ts';
import type { Ruleset, UserPushRules } from './ruleset.ts';

const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';
const ROOM = '!room:example.org';

function ctx(over: Partial<PushContext> = {}): PushContext {
  return {
    userId: ALICE,
    displayName: 'Alice Liddell',
    roomMemberCount: 5,
    senderPowerLevel: 0,
    notificationPowerLevels: { room: 50 },
    ...over,
  };
}

function message(content: Record<string, unknown>, over: Partial<PushEvent> = {}): PushEvent {
  return { type: 'm.room.message', sender: BOB, room_id: ROOM, content: { msgtype: 'm.text', ...content }, ...over };
}

function rules(stored: UserPushRules = {}): Ruleset {
  return buildPushRules(ALICE, stored).global;
}

describe('push/evaluate: predefined rules', () => {
  it('notifies a DM message with the default sound and no highlight', () => {
    const r = evaluatePushRules(rules(), message({ body: 'hi' }), ctx({ roomMemberCount: 2 }));
    assert.deepEqual(r, { notify: true, highlight: false, sound: 'default', ruleId: '.m.rule.room_one_to_one', tweaks: { sound: 'default' } });
  });

  it('notifies a group message without highlight or sound', () => {
    const r = evaluatePushRules(rules(), message({ body: 'hi all' }), ctx());
    assert.deepEqual(r, { notify: true, highlight: false, ruleId: '.m.rule.message', tweaks: {} });
  });

  it('notifies encrypted events, with sound in a DM', () => {
    const enc: PushEvent = { type: 'm.room.encrypted', sender: BOB, room_id: ROOM, content: { algorithm: 'm.megolm.v1.aes-sha2' } };
    assert.equal(evaluatePushRules(rules(), enc, ctx({ roomMemberCount: 2 })).ruleId, '.m.rule.encrypted_room_one_to_one');
    const group = evaluatePushRules(rules(), enc, ctx());
    assert.equal(group.ruleId, '.m.rule.encrypted');
    assert.equal(group.notify, true);
    assert.equal(group.sound, undefined);
  });

  it('highlights an intentional mention of the user', () => {
    const r = evaluatePushRules(rules(), message({ body: 'hey', 'm.mentions': { user_ids: [ALICE] } }), ctx());
    assert.equal(r.ruleId, '.m.rule.is_user_mention');
    assert.equal(r.highlight, true);
    assert.equal(r.sound, 'default');
  });

  it('does not highlight a mention of someone else', () => {
    const r = evaluatePushRules(rules(), message({ body: 'hey', 'm.mentions': { user_ids: [BOB] } }), ctx());
    assert.equal(r.ruleId, '.m.rule.message');
    assert.equal(r.highlight, false);
  });

  it('scans the body for the display name and localpart only without m.mentions', () => {
    const byName = evaluatePushRules(rules(), message({ body: 'ask alice liddell!' }), ctx());
    assert.equal(byName.ruleId, '.m.rule.contains_display_name');
    assert.equal(byName.highlight, true);
    const byLocalpart = evaluatePushRules(rules(), message({ body: "that's alice's" }), ctx({ displayName: null }));
    assert.equal(byLocalpart.ruleId, '.m.rule.contains_user_name');
    assert.equal(byLocalpart.highlight, true);
    const intentional = evaluatePushRules(rules(), message({ body: 'Alice Liddell alice', 'm.mentions': {} }), ctx());
    assert.equal(intentional.ruleId, '.m.rule.message');
    assert.equal(intentional.highlight, false);
  });

  it('one matcher over an event serves every recipient as a fresh evaluation does', () => {
    const carol = '@carol:example.org';
    const event = message({ body: 'Alice? Carol, alice liddell and *stars*' });
    const recipients: PushContext[] = [
      ctx(),
      ctx({ displayName: 'Nobody Here' }),
      ctx({ userId: carol, displayName: 'Carol' }),
      ctx({ userId: '@dave:example.org', displayName: null }),
      ctx({ userId: BOB }),
    ];
    const rulesOf = (c: PushContext) => buildPushRules(c.userId, { custom: { content: [{ rule_id: 'stars', pattern: '*star?*', actions: ['notify'], enabled: true }] } }).global;
    const matcher = new EventMatcher(event);
    const shared = recipients.map((c) => evaluatePushRules(rulesOf(c), matcher, c).ruleId);
    assert.deepEqual(shared, recipients.map((c) => evaluatePushRules(rulesOf(c), event, c).ruleId));
    // A user's own content rule comes before the predefined ones of its kind (contains_user_name).
    assert.deepEqual(shared, ['.m.rule.contains_display_name', 'stars', '.m.rule.contains_display_name', 'stars', undefined]);
  });

  it('matches display names and localparts at word boundaries only', () => {
    assert.equal(evaluatePushRules(rules(), message({ body: 'the Liddells' }), ctx({ displayName: 'Liddell' })).highlight, false);
    assert.equal(evaluatePushRules(rules(), message({ body: 'the Liddell.' }), ctx({ displayName: 'Liddell' })).highlight, true);
    assert.equal(evaluatePushRules(rules(), message({ body: 'malice' }), ctx()).highlight, false);
    assert.equal(evaluatePushRules(rules(), message({ body: 'hi' }), ctx({ displayName: '' })).highlight, false);
  });

  it('highlights @room only from senders with the notifications.room level', () => {
    const atRoom = message({ body: '@room lunch', 'm.mentions': { room: true } });
    const weak = evaluatePushRules(rules(), atRoom, ctx({ senderPowerLevel: 0 }));
    assert.equal(weak.highlight, false);
    assert.equal(weak.ruleId, '.m.rule.message');
    assert.equal(evaluatePushRules(rules(), atRoom, ctx({ senderPowerLevel: 50 })).ruleId, '.m.rule.is_room_mention');
    const lowered = evaluatePushRules(rules(), atRoom, ctx({ notificationPowerLevels: { room: 0 } }));
    assert.equal(lowered.highlight, true);
    // No `room` key in notifications: 50 is required.
    assert.equal(evaluatePushRules(rules(), atRoom, ctx({ senderPowerLevel: 49, notificationPowerLevels: {} })).highlight, false);
  });

  it('honours the legacy @room in the body only without m.mentions', () => {
    const legacy = message({ body: 'hey @room!' });
    assert.equal(evaluatePushRules(rules(), legacy, ctx({ senderPowerLevel: 100 })).ruleId, '.m.rule.roomnotif');
    assert.equal(evaluatePushRules(rules(), legacy, ctx({ senderPowerLevel: 0 })).highlight, false);
    const modern = message({ body: 'hey @room!', 'm.mentions': {} });
    assert.equal(evaluatePushRules(rules(), modern, ctx({ senderPowerLevel: 100 })).highlight, false);
  });

  it('suppresses notices, edits, reactions and server ACL changes', () => {
    const notice = evaluatePushRules(rules(), message({ msgtype: 'm.notice', body: 'bot says' }), ctx({ roomMemberCount: 2 }));
    assert.deepEqual(notice, { notify: false, highlight: false, ruleId: '.m.rule.suppress_notices' });
    const edit = message({
      body: '* fixed',
      'm.mentions': {},
      'm.new_content': { body: 'fixed' },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$x' },
    });
    assert.deepEqual(evaluatePushRules(rules(), edit, ctx()), { notify: false, highlight: false, ruleId: '.m.rule.suppress_edits' });
    const reaction: PushEvent = {
      type: 'm.reaction',
      sender: BOB,
      room_id: ROOM,
      content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$x', key: '👍' } },
    };
    assert.equal(evaluatePushRules(rules(), reaction, ctx({ roomMemberCount: 2 })).notify, false);
    const acl: PushEvent = { type: 'm.room.server_acl', sender: BOB, room_id: ROOM, state_key: '', content: { allow: ['*'] } };
    assert.deepEqual(evaluatePushRules(rules(), acl, ctx()), { notify: false, highlight: false, ruleId: '.m.rule.room.server_acl' });
  });

  it('still highlights an edit that newly mentions the user (mentions rank above suppress_edits)', () => {
    const edit = message({ body: '* hi Alice', 'm.mentions': { user_ids: [ALICE] }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$x' } });
    assert.equal(evaluatePushRules(rules(), edit, ctx()).ruleId, '.m.rule.is_user_mention');
  });

  it('notifies invites for the user, and no other membership change', () => {
    const invite: PushEvent = { type: 'm.room.member', sender: BOB, room_id: ROOM, state_key: ALICE, content: { membership: 'invite' } };
    const r = evaluatePushRules(rules(), invite, ctx());
    assert.equal(r.ruleId, '.m.rule.invite_for_me');
    assert.equal(r.notify, true);
    assert.equal(r.sound, 'default');
    const other = { ...invite, state_key: '@carol:example.org' };
    assert.deepEqual(evaluatePushRules(rules(), other, ctx()), { notify: false, highlight: false, ruleId: '.m.rule.member_event' });
  });

  it('rings for calls and highlights room upgrades (state events only)', () => {
    const call: PushEvent = { type: 'm.call.invite', sender: BOB, room_id: ROOM, content: {} };
    assert.equal(evaluatePushRules(rules(), call, ctx()).sound, 'ring');
    const tombstone: PushEvent = { type: 'm.room.tombstone', sender: BOB, room_id: ROOM, state_key: '', content: { body: 'moved' } };
    assert.equal(evaluatePushRules(rules(), tombstone, ctx()).highlight, true);
    const notState: PushEvent = { type: 'm.room.tombstone', sender: BOB, room_id: ROOM, content: {} };
    assert.equal(evaluatePushRules(rules(), notState, ctx()).notify, false);
  });

  it('does not notify for events no rule matches', () => {
    const topic: PushEvent = { type: 'm.room.topic', sender: BOB, room_id: ROOM, state_key: '', content: { topic: 'x' } };
    assert.deepEqual(evaluatePushRules(rules(), topic, ctx()), { notify: false, highlight: false });
  });

  it('never notifies the user of their own events', () => {
    const own = message({ body: 'alice', 'm.mentions': { user_ids: [ALICE] } }, { sender: ALICE });
    assert.deepEqual(evaluatePushRules(rules(), own, ctx({ roomMemberCount: 2 })), { notify: false, highlight: false });
  });

  it('silences everything when the master rule is enabled', () => {
    const muted = rules({ predefined: { override: { '.m.rule.master': { enabled: true } } } });
    const mention = message({ body: 'hi', 'm.mentions': { user_ids: [ALICE], room: true } });
    const r = evaluatePushRules(muted, mention, ctx({ roomMemberCount: 2, senderPowerLevel: 100 }));
    assert.deepEqual(r, { notify: false, highlight: false, ruleId: '.m.rule.master' });
  });
});

describe('push/evaluate: actions', () => {
  function withUnderride(actions: unknown[]): Ruleset {
    return rules({
      custom: { underride: [{ rule_id: 'mine', enabled: true, conditions: [{ kind: 'event_match', key: 'type', pattern: 'x.custom' }], actions: actions as never }] },
    });
  }
  const custom: PushEvent = { type: 'x.custom', sender: BOB, room_id: ROOM, content: {} };

  it('treats a highlight tweak without a value as true, and honours false', () => {
    assert.equal(evaluatePushRules(withUnderride(['notify', { set_tweak: 'highlight' }]), custom, ctx()).highlight, true);
    assert.equal(evaluatePushRules(withUnderride(['notify', { set_tweak: 'highlight', value: false }]), custom, ctx()).highlight, false);
  });

  it('ignores the historical dont_notify and coalesce actions', () => {
    assert.deepEqual(evaluatePushRules(withUnderride(['dont_notify']), custom, ctx()), { notify: false, highlight: false, ruleId: 'mine' });
    assert.equal(evaluatePushRules(withUnderride(['coalesce']), custom, ctx()).notify, false);
    assert.equal(evaluatePushRules(withUnderride(['coalesce', 'notify']), custom, ctx()).notify, true);
  });

  it('does not highlight without notify', () => {
    assert.deepEqual(evaluatePushRules(withUnderride([{ set_tweak: 'highlight' }]), custom, ctx()), { notify: false, highlight: false, ruleId: 'mine' });
  });

  it('passes every tweak through for the push gateway', () => {
    const r = evaluatePushRules(withUnderride(['notify', { set_tweak: 'sound', value: 'bing' }, { set_tweak: 'x.led', value: 'blue' }]), custom, ctx());
    assert.deepEqual(r.tweaks, { sound: 'bing', 'x.led': 'blue' });
    assert.equal(r.sound, 'bing');
  });
});

describe('push/evaluate: conditions', () => {
  function holds(condition: Record<string, unknown>, event: PushEvent, c: PushContext = ctx()): boolean {
    const set = rules({ custom: { override: [{ rule_id: 'c', enabled: true, conditions: [condition as never], actions: ['notify'] }] } });
    return evaluatePushRules(set, event, c).ruleId === 'c';
  }

  it('event_match matches whole values, case-insensitively, and only strings', () => {
    const topic: PushEvent = { type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 'Lunch plans', n: 5, nil: null } };
    assert.ok(holds({ kind: 'event_match', key: 'content.topic', pattern: 'lunc?*' }, topic));
    assert.ok(holds({ kind: 'event_match', key: 'content.topic', pattern: 'LUNCH PLANS' }, topic));
    assert.ok(!holds({ kind: 'event_match', key: 'content.topic', pattern: 'lunch' }, topic));
    assert.ok(!holds({ kind: 'event_match', key: 'content.n', pattern: '*' }, topic));
    assert.ok(!holds({ kind: 'event_match', key: 'content.nil', pattern: '*' }, topic));
    assert.ok(!holds({ kind: 'event_match', key: 'content.absent', pattern: '*' }, topic));
    assert.ok(holds({ kind: 'event_match', key: 'state_key', pattern: '' }, topic));
  });

  it('event_match follows escaped dotted keys', () => {
    const edit = message({ 'm.relates_to': { rel_type: 'm.replace' }, 'm\\foo': 'bar', m: { relates_to: { rel_type: 'wrong' } } });
    assert.ok(holds({ kind: 'event_match', key: 'content.m\\.relates_to.rel_type', pattern: 'm.replace' }, edit));
    assert.ok(!holds({ kind: 'event_match', key: 'content.m.relates_to.rel_type', pattern: 'm.replace' }, edit));
    assert.ok(holds({ kind: 'event_match', key: 'content.m\\\\foo', pattern: 'bar' }, edit));
  });

  it('event_property_is compares exactly, without casting', () => {
    const create: PushEvent = { type: 'm.room.create', sender: BOB, state_key: '', content: { 'm.federate': true, n: 1 } };
    assert.ok(holds({ kind: 'event_property_is', key: 'content.m\\.federate', value: true }, create));
    assert.ok(!holds({ kind: 'event_property_is', key: 'content.m\\.federate', value: 'true' }, create));
    assert.ok(!holds({ kind: 'event_property_is', key: 'content.n', value: '1' }, create));
    assert.ok(holds({ kind: 'event_property_is', key: 'content.n', value: 1 }, create));
    assert.ok(!holds({ kind: 'event_property_is', key: 'content', value: null }, create), 'objects are never equal');
  });

  it('event_property_contains needs an array holding the exact value', () => {
    const aliases: PushEvent = { type: 'm.room.canonical_alias', sender: BOB, state_key: '', content: { alt_aliases: ['#a:example.org', { x: 1 }, '#myroom:example.com'], s: '#myroom:example.com' } };
    assert.ok(holds({ kind: 'event_property_contains', key: 'content.alt_aliases', value: '#myroom:example.com' }, aliases));
    assert.ok(!holds({ kind: 'event_property_contains', key: 'content.alt_aliases', value: ':example.com' }, aliases));
    assert.ok(!holds({ kind: 'event_property_contains', key: 'content.s', value: '#myroom:example.com' }, aliases));
  });

  it('room_member_count compares with ==, <, >, <= and >=', () => {
    const e = message({ body: 'x' });
    const at = (is: string, n: number) => holds({ kind: 'room_member_count', is }, e, ctx({ roomMemberCount: n }));
    assert.ok(at('2', 2) && !at('2', 3));
    assert.ok(at('==10', 10));
    assert.ok(at('<3', 2) && !at('<3', 3));
    assert.ok(at('>3', 4) && !at('>3', 3));
    assert.ok(at('<=3', 3) && !at('<=3', 4));
    assert.ok(at('>=3', 3) && !at('>=3', 2));
    assert.ok(!at('=2', 2) && !at('two', 2) && !at('', 0));
    assert.deepEqual(parseMemberCount('<=10'), { op: '<=', n: 10 });
    assert.equal(parseMemberCount('=>1'), null);
  });

  it('never matches an unrecognised condition', () => {
    assert.ok(!holds({ kind: 'org.example.everything' }, message({ body: 'x' })));
  });
});

describe('push/evaluate: glob matching', () => {
  it('matches whole values with * and ?', () => {
    assert.ok(globMatch('lunc?*', 'Lunch plans'));
    assert.ok(globMatch('lunc?*', 'LUNCH'));
    assert.ok(!globMatch('lunc?*', ' lunch'));
    assert.ok(!globMatch('lunc?*', 'lunc'));
    assert.ok(globMatch('*', ''));
    assert.ok(globMatch('**', 'anything'));
    assert.ok(globMatch('', ''));
    assert.ok(!globMatch('', 'x'));
    assert.ok(globMatch('a*b', 'ab'));
    assert.ok(globMatch('a*b', 'axxb'));
    assert.ok(!globMatch('a*b', 'axxbc'));
    assert.ok(globMatch('*b*', 'abc'));
  });

  it('counts ? as one character, astral ones included', () => {
    assert.ok(globMatch('?', '😀'));
    assert.ok(!globMatch('?', ''));
    assert.ok(!globMatch('?', 'ab'));
    assert.ok(globMatch('a?c', 'aéc'));
  });

  it('treats regular-expression syntax literally', () => {
    assert.ok(!globMatch('a.b', 'axb'));
    assert.ok(globMatch('a.b', 'A.B'));
    assert.ok(globMatch('[x]+(y)$', '[X]+(y)$'));
    assert.ok(!globMatch('[x]', 'x'));
  });

  it('matches content.body substrings between word boundaries', () => {
    assert.ok(globMatch('ex*ple', 'An example event.', true));
    assert.ok(globMatch('ex*ple', 'exple', true));
    assert.ok(globMatch('ex*ple', 'An exciting triple-whammy', true));
    assert.ok(globMatch('cake', 'Cake!', true));
    assert.ok(globMatch('cake', 'i_like cake', true));
    assert.ok(!globMatch('cake', 'pancake', true));
    assert.ok(!globMatch('cake', 'cakes', true));
    assert.ok(!globMatch('cake', 'i_cake', true), '_ is a word character');
    assert.ok(globMatch('@room', 'hey @room!', true));
    assert.ok(globMatch('a.b', 'x a.b y', true));
  });

  it('stays linear on patterns that make a backtracking matcher explode', () => {
    const started = performance.now();
    assert.ok(!globMatch('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(20000)));
    assert.ok(!globMatch('*a*a*a*a*a*a*a*a*a*a*b', `${'a '.repeat(10000)}`, true));
    assert.ok(performance.now() - started < 2000);
  });
});

describe('push/evaluate: key paths', () => {
  it('splits on unescaped dots and unescapes \\. and \\\\ only', () => {
    assert.deepEqual(splitKeyPath('content.body'), ['content', 'body']);
    assert.deepEqual(splitKeyPath('content.m\\.mentions.user_ids'), ['content', 'm.mentions', 'user_ids']);
    assert.deepEqual(splitKeyPath('a\\\\.b'), ['a\\', 'b']);
    assert.deepEqual(splitKeyPath('a\\x'), ['a\\x']);
    assert.deepEqual(splitKeyPath('a\\'), ['a\\']);
  });

  it('does not walk into arrays or inherited properties', () => {
    const e: PushEvent = { type: 't', sender: BOB, content: { list: ['x'], obj: {} } };
    assert.equal(lookupKey(e, 'content.list.0'), undefined);
    assert.equal(lookupKey(e, 'content.obj.toString'), undefined);
    assert.equal(lookupKey(e, 'content.obj.__proto__'), undefined);
    assert.deepEqual(lookupKey(e, 'content.list'), ['x']);
  });
});
