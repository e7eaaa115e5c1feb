import assert from 'node:assert/strict';
import { defaultRules, isPredefinedRule, localpartOf } from './defaultRules.ts';

const ALICE = '@alice:example.org';

describe('push/defaultRules', () => {
  it('lists the spec’s predefined rules in the spec’s order', () => {
    const rules = defaultRules(ALICE);
    assert.deepEqual(
      rules.override.map((r) => r.rule_id),
      [
        '.m.rule.master',
        '.m.rule.suppress_notices',
        '.m.rule.invite_for_me',
        '.m.rule.member_event',
        '.m.rule.is_user_mention',
        '.m.rule.contains_display_name',
        '.m.rule.is_room_mention',
        '.m.rule.roomnotif',
        '.m.rule.tombstone',
        '.m.rule.reaction',
        '.m.rule.room.server_acl',
        '.m.rule.suppress_edits',
      ],
    );
    assert.deepEqual(rules.content.map((r) => r.rule_id), ['.m.rule.contains_user_name']);
    assert.deepEqual(
      rules.underride.map((r) => r.rule_id),
      ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted'],
    );
  });

  it('has every rule default and enabled, except the master rule', () => {
    const all = Object.values(defaultRules(ALICE)).flat();
    for (const r of all) {
      assert.equal(r.default, true, r.rule_id);
      assert.equal(r.enabled, r.rule_id !== '.m.rule.master', r.rule_id);
    }
  });

  it('has the fields the spec’s PushRule schema requires', () => {
    // `required` of definitions/push_rule.yaml.
    const required = ['actions', 'default', 'enabled', 'rule_id'];
    const rules = defaultRules(ALICE);
    for (const r of Object.values(rules).flat()) {
      for (const field of required) assert.ok(field in r, `${r.rule_id} lacks ${field}`);
    }
    for (const r of [...rules.override, ...rules.underride]) assert.ok(Array.isArray(r.conditions), r.rule_id);
    for (const r of rules.content) assert.equal(typeof r.pattern, 'string');
  });

  it('names the user where the spec says so', () => {
    const rules = defaultRules(ALICE);
    const byId = (id: string) => rules.override.find((r) => r.rule_id === id);
    assert.deepEqual(byId('.m.rule.invite_for_me'), {
      rule_id: '.m.rule.invite_for_me',
      default: true,
      enabled: true,
      conditions: [
        { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
        { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
        { kind: 'event_match', key: 'state_key', pattern: ALICE },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
    });
    assert.deepEqual(byId('.m.rule.is_user_mention')?.conditions, [
      { kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: ALICE },
    ]);
    assert.equal(rules.content[0].pattern, 'alice');
  });

  it('matches the spec’s definitions of the mention and edit rules', () => {
    const rules = defaultRules(ALICE);
    const byId = (id: string) => rules.override.find((r) => r.rule_id === id);
    assert.deepEqual(byId('.m.rule.is_room_mention'), {
      rule_id: '.m.rule.is_room_mention',
      default: true,
      enabled: true,
      conditions: [
        { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      actions: ['notify', { set_tweak: 'highlight' }],
    });
    assert.deepEqual(byId('.m.rule.suppress_edits'), {
      rule_id: '.m.rule.suppress_edits',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
      actions: [],
    });
    assert.deepEqual(rules.underride.find((r) => r.rule_id === '.m.rule.call')?.actions, [
      'notify',
      { set_tweak: 'sound', value: 'ring' },
    ]);
  });

  it('returns fresh objects on every call', () => {
    const a = defaultRules(ALICE);
    a.override[0].enabled = true;
    (a.underride[3].actions as unknown[]).push('x');
    const b = defaultRules(ALICE);
    assert.equal(b.override[0].enabled, false);
    assert.deepEqual(b.underride[3].actions, ['notify']);
  });

  it('knows which ids are predefined, per kind', () => {
    assert.equal(isPredefinedRule('override', '.m.rule.master'), true);
    assert.equal(isPredefinedRule('underride', '.m.rule.master'), false);
    assert.equal(isPredefinedRule('content', '.m.rule.contains_user_name'), true);
    assert.equal(isPredefinedRule('room', '.m.rule.master'), false);
    assert.equal(isPredefinedRule('override', '.m.rule.nope'), false);
  });

  it('takes the localpart of a user id', () => {
    assert.equal(localpartOf('@alice:example.org'), 'alice');
    assert.equal(localpartOf('@a.b:example.org:8448'), 'a.b');
  });
});
