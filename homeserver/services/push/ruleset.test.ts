import assert from 'node:assert/strict';
import { MatrixError } from '../../errors.ts';
import { evaluatePushRules } from './evaluate.ts';
import type { PushContext, PushEvent } from './evaluate.ts';
import {
  buildPushRules,
  deleteUserRule,
  getRule,
  insertRelative,
  parseActionsBody,
  parseEnabledBody,
  parseRuleBody,
  parseRuleKind,
  putUserRule,
  setRuleActions,
  setRuleEnabled,
} from './ruleset.ts';
import type { RuleKind, UserPushRules } from './ruleset.ts';

const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';
const ROOM = '!room:example.org';
const ctx: PushContext = { userId: ALICE, displayName: 'Alice', roomMemberCount: 5, senderPowerLevel: 0, notificationPowerLevels: { room: 50 } };
const msg = (body: string, over: Partial<PushEvent> = {}): PushEvent => ({
  type: 'm.room.message',
  sender: BOB,
  room_id: ROOM,
  content: { msgtype: 'm.text', body, 'm.mentions': {} },
  ...over,
});

function fails(fn: () => unknown, status: number, errcode: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MatrixError, String(e));
    assert.equal(e.status, status, e.message);
    assert.equal(e.errcode, errcode, e.message);
    return true;
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const ids = (stored: UserPushRules, kind: RuleKind) => buildPushRules(ALICE, stored).global[kind].map((r) => r.rule_id);
const rule = (conditionsOrPattern: unknown[] | string, actions: unknown[] = ['notify']) =>
  typeof conditionsOrPattern === 'string' ? { pattern: conditionsOrPattern, actions } : { conditions: conditionsOrPattern, actions };

describe('push/ruleset: the merged rule set', () => {
  it('is the predefined rules for a user who changed nothing', () => {
    const { global } = buildPushRules(ALICE, {});
    assert.deepEqual(Object.keys(global), ['override', 'content', 'room', 'sender', 'underride']);
    assert.equal(global.override.length, 12);
    assert.deepEqual(global.room, []);
    assert.deepEqual(global.sender, []);
    assert.ok([...global.override, ...global.content, ...global.underride].every((r) => r.default));
    assert.deepEqual(buildPushRules(ALICE), buildPushRules(ALICE, {}));
  });

  it('applies enabled and actions changes to predefined rules', () => {
    let stored: UserPushRules = {};
    stored = setRuleEnabled(stored, 'override', '.m.rule.suppress_notices', false);
    stored = setRuleActions(stored, 'underride', '.m.rule.message', ['notify', { set_tweak: 'highlight' }]);
    stored = setRuleEnabled(stored, 'underride', '.m.rule.message', true);
    const { global } = buildPushRules(ALICE, stored);
    assert.equal(getRule(global, 'override', '.m.rule.suppress_notices').enabled, false);
    const message = getRule(global, 'underride', '.m.rule.message');
    assert.deepEqual(message, {
      rule_id: '.m.rule.message',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
      actions: ['notify', { set_tweak: 'highlight' }],
    });
    const notice = msg('bot says', { content: { msgtype: 'm.notice', body: 'bot says' } });
    assert.deepEqual(evaluatePushRules(global, notice, ctx), { notify: true, highlight: true, ruleId: '.m.rule.message', tweaks: { highlight: true } });
  });

  it('mutes everything with the master rule, above the user’s own overrides', () => {
    let stored = putUserRule({}, 'override', 'always', rule([]));
    stored = setRuleEnabled(stored, 'override', '.m.rule.master', true);
    assert.deepEqual(ids(stored, 'override').slice(0, 3), ['.m.rule.master', 'always', '.m.rule.suppress_notices']);
    assert.equal(evaluatePushRules(buildPushRules(ALICE, stored).global, msg('hi'), ctx).ruleId, '.m.rule.master');
  });

  it('ranks user rules above the predefined rules of their kind', () => {
    let stored = putUserRule({}, 'content', 'cake', rule('cake', ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }]));
    stored = putUserRule(stored, 'underride', 'all', rule([]));
    assert.deepEqual(ids(stored, 'content'), ['cake', '.m.rule.contains_user_name']);
    assert.equal(ids(stored, 'underride')[0], 'all');
    const r = evaluatePushRules(buildPushRules(ALICE, stored).global, msg('It’s time for CAKE!'), ctx);
    assert.equal(r.ruleId, 'cake');
    assert.equal(r.sound, 'cakealarm.wav');
  });

  it('shows room and sender rules with only actions, and they decide by id', () => {
    let stored = putUserRule({}, 'room', ROOM, { actions: [], conditions: [{ kind: 'x' }], pattern: 'p' });
    stored = putUserRule(stored, 'sender', '@spam:example.org', { actions: [] });
    const { global } = buildPushRules(ALICE, stored);
    assert.deepEqual(global.room, [{ rule_id: ROOM, default: false, enabled: true, actions: [] }]);
    assert.equal(evaluatePushRules(global, msg('hi'), ctx).ruleId, ROOM);
    const elsewhere = msg('hi', { room_id: '!other:example.org' });
    assert.equal(evaluatePushRules(global, elsewhere, ctx).ruleId, '.m.rule.message');
    assert.equal(evaluatePushRules(global, { ...elsewhere, sender: '@spam:example.org' }, ctx).notify, false);
  });

  it('never changes what it is given, and stays plain JSON', () => {
    const stored = deepFreeze(putUserRule({}, 'override', 'a', rule([{ kind: 'event_match', key: 'type', pattern: 'x' }])));
    const after = setRuleActions(setRuleEnabled(putUserRule(stored, 'override', 'b', rule([]), { after: 'a' }), 'override', '.m.rule.master', true), 'override', 'a', []);
    deleteUserRule(after, 'override', 'a');
    assert.deepEqual(JSON.parse(JSON.stringify(after)), after);
    const built = buildPushRules(ALICE, stored);
    (built.global.override[1].actions as unknown[]).push('x');
    assert.deepEqual(stored.custom?.override?.[0].actions, ['notify']);
  });
});

describe('push/ruleset: PUT, DELETE, enabled, actions', () => {
  it('adds new rules enabled and first among the user’s rules', () => {
    let stored = putUserRule({}, 'override', 'a', rule([]));
    stored = putUserRule(stored, 'override', 'b', rule([]));
    assert.deepEqual(ids(stored, 'override').slice(0, 3), ['.m.rule.master', 'b', 'a']);
    assert.equal(getRule(buildPushRules(ALICE, stored).global, 'override', 'a').enabled, true);
    assert.equal(getRule(buildPushRules(ALICE, stored).global, 'override', 'a').default, false);
  });

  it('places rules before or after a user rule; before wins when both are given', () => {
    let stored = putUserRule({}, 'content', 'a', rule('a'));
    stored = putUserRule(stored, 'content', 'c', rule('c'), { after: 'a' });
    stored = putUserRule(stored, 'content', 'b', rule('b'), { before: 'c' });
    stored = putUserRule(stored, 'content', 'z', rule('z'), { after: 'c' });
    assert.deepEqual(ids(stored, 'content'), ['a', 'b', 'c', 'z', '.m.rule.contains_user_name']);
    stored = putUserRule(stored, 'content', 'y', rule('y'), { before: 'a', after: 'z' });
    assert.deepEqual(ids(stored, 'content').slice(0, 2), ['y', 'a']);
  });

  it('updates an existing rule in place, keeping whether it is enabled', () => {
    let stored = putUserRule({}, 'content', 'a', rule('a'));
    stored = putUserRule(stored, 'content', 'b', rule('b'));
    stored = setRuleEnabled(stored, 'content', 'a', false);
    stored = putUserRule(stored, 'content', 'a', rule('new'));
    const a = getRule(buildPushRules(ALICE, stored).global, 'content', 'a');
    assert.deepEqual(a, { rule_id: 'a', default: false, enabled: false, actions: ['notify'], pattern: 'new' });
    assert.deepEqual(ids(stored, 'content').slice(0, 2), ['b', 'a']);
    stored = putUserRule(stored, 'content', 'a', rule('new'), { before: 'b' });
    assert.deepEqual(ids(stored, 'content').slice(0, 2), ['a', 'b']);
  });

  it('refuses to place a rule relative to an unknown or predefined rule', () => {
    const stored = putUserRule({}, 'override', 'a', rule([]));
    fails(() => putUserRule(stored, 'override', 'b', rule([]), { before: 'nope' }), 400, 'M_INVALID_PARAM');
    fails(() => putUserRule(stored, 'override', 'b', rule([]), { after: '.m.rule.master' }), 400, 'M_INVALID_PARAM');
    fails(() => putUserRule(stored, 'override', 'a', rule([]), { before: 'a' }), 400, 'M_INVALID_PARAM');
  });

  it('refuses reserved and malformed rule ids', () => {
    fails(() => putUserRule({}, 'override', '.m.rule.master', rule([])), 400, 'M_INVALID_PARAM');
    fails(() => putUserRule({}, 'override', '.mine', rule([])), 400, 'M_INVALID_PARAM');
    fails(() => putUserRule({}, 'override', 'a/b', rule([])), 400, 'M_INVALID_PARAM');
    fails(() => putUserRule({}, 'override', 'a\\b', rule([])), 400, 'M_INVALID_PARAM');
    fails(() => putUserRule({}, 'override', '', rule([])), 400, 'M_INVALID_PARAM');
  });

  it('deletes user rules only', () => {
    const stored = putUserRule({}, 'override', 'a', rule([]));
    assert.equal(ids(deleteUserRule(stored, 'override', 'a'), 'override').includes('a'), false);
    fails(() => deleteUserRule(stored, 'override', 'b'), 404, 'M_NOT_FOUND');
    fails(() => deleteUserRule(stored, 'underride', 'a'), 404, 'M_NOT_FOUND');
    fails(() => deleteUserRule(stored, 'override', '.m.rule.master'), 400, 'M_INVALID_PARAM');
  });

  it('answers 404 for enabled/actions/GET of rules that do not exist', () => {
    fails(() => setRuleEnabled({}, 'override', '.m.rule.unknown', true), 404, 'M_NOT_FOUND');
    fails(() => setRuleEnabled({}, 'underride', '.m.rule.master', true), 404, 'M_NOT_FOUND');
    fails(() => setRuleActions({}, 'room', ROOM, []), 404, 'M_NOT_FOUND');
    fails(() => getRule(buildPushRules(ALICE).global, 'override', 'nope'), 404, 'M_NOT_FOUND');
    fails(() => getRule(buildPushRules(ALICE).global, 'content', '.m.rule.master'), 404, 'M_NOT_FOUND');
  });

  it('refuses unknown kinds', () => {
    assert.equal(parseRuleKind('underride'), 'underride');
    fails(() => parseRuleKind('bogus'), 400, 'M_INVALID_PARAM');
  });

  it('inserts relative to a list without the item itself', () => {
    const list = [{ rule_id: 'a' }, { rule_id: 'b' }];
    assert.deepEqual(insertRelative(list, { rule_id: 'b' }, { before: 'a' }).map((r) => r.rule_id), ['b', 'a']);
    assert.deepEqual(insertRelative(list, { rule_id: 'c' }, { after: 'b' }).map((r) => r.rule_id), ['a', 'b', 'c']);
    assert.deepEqual(insertRelative(list, { rule_id: 'c' }, {}).map((r) => r.rule_id), ['c', 'a', 'b']);
  });
});

describe('push/ruleset: validating bodies', () => {
  const bad = (kind: RuleKind, body: unknown) => fails(() => parseRuleBody(kind, body), 400, 'M_BAD_JSON');

  it('needs a JSON object with an actions array', () => {
    bad('room', null);
    bad('room', []);
    bad('room', {});
    bad('room', { actions: 'notify' });
    bad('room', { actions: ['explode'] });
    bad('room', { actions: [{ value: 'x' }] });
    bad('room', { actions: [{ set_tweak: 'highlight', value: 'yes' }] });
    bad('room', { actions: [{ set_tweak: 'sound' }] });
    bad('room', { actions: [42] });
    assert.deepEqual(parseRuleBody('room', { actions: ['dont_notify', 'coalesce', { set_tweak: 'x.custom', value: { any: 1 } }] }), {
      actions: ['dont_notify', 'coalesce', { set_tweak: 'x.custom', value: { any: 1 } }],
    });
  });

  it('needs conditions on override and underride rules, each well-formed', () => {
    bad('override', { actions: [] });
    bad('underride', { actions: [], conditions: {} });
    bad('override', rule([{ key: 'type', pattern: 'x' }]));
    bad('override', rule(['event_match']));
    bad('override', rule([{ kind: 'event_match', key: 'type' }]));
    bad('override', rule([{ kind: 'event_match', pattern: 'x' }]));
    bad('override', rule([{ kind: 'event_property_is', key: 'content.x' }]));
    bad('override', rule([{ kind: 'event_property_is', key: 'content.x', value: { a: 1 } }]));
    bad('override', rule([{ kind: 'event_property_contains', key: 'content.x', value: 1.5 }]));
    bad('override', rule([{ kind: 'room_member_count', is: 'lots' }]));
    bad('override', rule([{ kind: 'sender_notification_permission' }]));
    bad('override', rule(Array.from({ length: 65 }, () => ({ kind: 'contains_display_name' }))));
    const ok = parseRuleBody('override', rule([
      { kind: 'event_match', key: 'content.body', pattern: 'beer' },
      { kind: 'room_member_count', is: '<=10' },
      { kind: 'event_property_is', key: 'content.x', value: null },
      { kind: 'org.example.future', anything: [1] },
    ]));
    assert.equal(ok.conditions?.length, 4);
  });

  it('needs a non-empty pattern on content rules', () => {
    bad('content', { actions: [] });
    bad('content', { actions: [], pattern: '' });
    bad('content', { actions: [], pattern: 7 });
    assert.deepEqual(parseRuleBody('content', { actions: [], pattern: 'cake*lie', conditions: 'ignored' }), { actions: [], pattern: 'cake*lie' });
  });

  it('refuses oversized rules', () => {
    bad('content', { actions: [], pattern: 'x'.repeat(2000) });
    bad('override', rule([{ kind: 'org.example.big', blob: 'x'.repeat(20000) }]));
  });

  it('reads the enabled and actions bodies', () => {
    assert.equal(parseEnabledBody({ enabled: false }), false);
    fails(() => parseEnabledBody({ enabled: 'true' }), 400, 'M_BAD_JSON');
    fails(() => parseEnabledBody(null), 400, 'M_BAD_JSON');
    assert.deepEqual(parseActionsBody({ actions: ['notify'] }), ['notify']);
    fails(() => parseActionsBody({}), 400, 'M_BAD_JSON');
  });
});
