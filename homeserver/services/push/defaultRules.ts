/**
 * The spec's predefined ("server-default") push rules (Client-Server API, "Predefined
 * Rules"), exactly as the current spec defines them, in their evaluation order. Some name
 * the user (their id, their localpart), so they are built per user; each call returns
 * fresh objects the caller may keep or change.
 */
import type { PushAction, PushCondition, PushRule, RuleKind } from './ruleset.ts';

/** The kinds that have predefined rules; `room` and `sender` have none. */
export interface DefaultRules {
  override: PushRule[];
  content: PushRule[];
  underride: PushRule[];
}

export const MASTER_RULE_ID = '.m.rule.master';

/**
 * Deprecated since v1.7: they apply only to events without an `m.mentions` property,
 * so that clients sending intentional mentions are not second-guessed by body scanning.
 */
export const LEGACY_MENTION_RULE_IDS: ReadonlySet<string> = new Set([
  '.m.rule.contains_display_name',
  '.m.rule.roomnotif',
  '.m.rule.contains_user_name',
]);

const NOTIFY = 'notify';
const soundDefault = (): PushAction => ({ set_tweak: 'sound', value: 'default' });
const highlight = (): PushAction => ({ set_tweak: 'highlight' });
const match = (key: string, pattern: string): PushCondition => ({ kind: 'event_match', key, pattern });

function rule(rule_id: string, conditions: PushCondition[], actions: PushAction[], enabled = true): PushRule {
  return { rule_id, default: true, enabled, conditions, actions };
}

/** `@alice:example.org` → `alice`; the content rule matches the bare localpart. */
export function localpartOf(userId: string): string {
  const colon = userId.indexOf(':');
  return userId.slice(userId.startsWith('@') ? 1 : 0, colon < 0 ? undefined : colon);
}

export function defaultRules(userId: string): DefaultRules {
  return {
    override: [
      rule(MASTER_RULE_ID, [], [], false),
      rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], []),
      rule(
        '.m.rule.invite_for_me',
        [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)],
        [NOTIFY, soundDefault()],
      ),
      rule('.m.rule.member_event', [match('type', 'm.room.member')], []),
      rule(
        '.m.rule.is_user_mention',
        [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
        [NOTIFY, soundDefault(), highlight()],
      ),
      // Deprecated, but clients on older spec versions still look for it (and toggle it).
      rule('.m.rule.contains_display_name', [{ kind: 'contains_display_name' }], [NOTIFY, soundDefault(), highlight()]),
      rule(
        '.m.rule.is_room_mention',
        [
          { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
          { kind: 'sender_notification_permission', key: 'room' },
        ],
        [NOTIFY, highlight()],
      ),
      rule(
        '.m.rule.roomnotif',
        [match('content.body', '@room'), { kind: 'sender_notification_permission', key: 'room' }],
        [NOTIFY, highlight()],
      ),
      // No implicit state_key condition exists, hence the explicit empty one (spec warning).
      rule('.m.rule.tombstone', [match('type', 'm.room.tombstone'), match('state_key', '')], [NOTIFY, highlight()]),
      rule('.m.rule.reaction', [match('type', 'm.reaction')], []),
      // The spec's id is `.m.rule.room.server_acl` (not `.m.rule.server_acl`).
      rule('.m.rule.room.server_acl', [match('type', 'm.room.server_acl'), match('state_key', '')], []),
      rule(
        '.m.rule.suppress_edits',
        [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
        [],
      ),
    ],
    content: [
      {
        rule_id: '.m.rule.contains_user_name',
        default: true,
        enabled: true,
        pattern: localpartOf(userId),
        actions: [NOTIFY, soundDefault(), highlight()],
      },
    ],
    underride: [
      rule('.m.rule.call', [match('type', 'm.call.invite')], [NOTIFY, { set_tweak: 'sound', value: 'ring' }]),
      rule(
        '.m.rule.encrypted_room_one_to_one',
        [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')],
        [NOTIFY, soundDefault()],
      ),
      rule(
        '.m.rule.room_one_to_one',
        [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')],
        [NOTIFY, soundDefault()],
      ),
      rule('.m.rule.message', [match('type', 'm.room.message')], [NOTIFY]),
      rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], [NOTIFY]),
    ],
  };
}

/** Whether `ruleId` names a predefined rule of `kind` (ids do not depend on the user). */
export function isPredefinedRule(kind: RuleKind, ruleId: string): boolean {
  if (kind === 'room' || kind === 'sender') return false;
  return defaultRules('@_:_')[kind].some((r) => r.rule_id === ruleId);
}
