/**
 * A user's push rule set (spec: Client-Server API "Push Rules" and "Push Rules: API"):
 * the predefined rules merged with what the user changed, in the JSON shape clients GET,
 * plus validation and the pure edits behind PUT/DELETE `/pushrules/global/{kind}/{ruleId}`
 * (and its `/enabled` and `/actions`). What is stored is only the user's part
 * (`UserPushRules`), so a change to the spec's predefined rules reaches every user.
 */
import { errors } from '../../errors.ts';
import { parseMemberCount } from './evaluate.ts';
import { defaultRules, isPredefinedRule, MASTER_RULE_ID } from './defaultRules.ts';

export type RuleKind = 'override' | 'content' | 'room' | 'sender' | 'underride';

/** In the order they are evaluated. */
export const RULE_KINDS: readonly RuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];

export type JsonScalar = string | number | boolean | null;

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: JsonScalar;
  /** Conditions of unknown kinds are kept as sent; they never match (spec). */
  [param: string]: unknown;
}

export interface PushTweak {
  set_tweak: string;
  value?: unknown;
  [param: string]: unknown;
}

/** `notify`, the legacy `dont_notify`/`coalesce`, or a `set_tweak` object. */
export type PushAction = string | PushTweak;

/** A rule as clients see it. */
export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  /** override and underride rules only. */
  conditions?: PushCondition[];
  /** content rules only. */
  pattern?: string;
}

export interface Ruleset {
  override: PushRule[];
  content: PushRule[];
  room: PushRule[];
  sender: PushRule[];
  underride: PushRule[];
}

/** The body of `GET /pushrules/` (and the content of `m.push_rules` account data). */
export interface PushRulesJson {
  global: Ruleset;
}

/** A user-defined rule as stored; room and sender rules have neither conditions nor pattern. */
export interface UserRule {
  rule_id: string;
  enabled: boolean;
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

/** What a user changed on a predefined rule; absent fields keep the spec's value. */
export interface PredefinedRuleChange {
  enabled?: boolean;
  actions?: PushAction[];
}

/**
 * Everything a user customised, as plain JSON (`{}` for a user who changed nothing).
 * `custom` lists are most important first.
 */
export interface UserPushRules {
  predefined?: { [K in RuleKind]?: Record<string, PredefinedRuleChange> };
  custom?: { [K in RuleKind]?: UserRule[] };
}

/** Query parameters of the PUT: `before` wins when both are given (spec). */
export interface RulePosition {
  before?: string;
  after?: string;
}

// Bounds keep one user's rules from making every event in their rooms expensive to evaluate.
const MAX_RULE_ID_LENGTH = 255;
const MAX_CONDITIONS = 64;
const MAX_ACTIONS = 64;
const MAX_PARAM_LENGTH = 1024;
const MAX_RULE_JSON_LENGTH = 16 * 1024;
const LEGACY_ACTIONS: ReadonlySet<string> = new Set(['dont_notify', 'coalesce']);

export function isRuleKind(kind: string): kind is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(kind);
}

export function parseRuleKind(kind: string): RuleKind {
  if (!isRuleKind(kind)) throw errors.invalidParam(`Unknown push rule kind: ${kind}`);
  return kind;
}

const notFound = () => errors.notFound('The push rule was not found.');

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function predefinedChange(stored: UserPushRules, kind: RuleKind, ruleId: string): PredefinedRuleChange | undefined {
  const changes = stored.predefined?.[kind];
  return changes && Object.hasOwn(changes, ruleId) ? changes[ruleId] : undefined;
}

function withChange(stored: UserPushRules, kind: RuleKind, rule: PushRule): PushRule {
  const change = predefinedChange(stored, kind, rule.rule_id);
  if (!change) return rule;
  return {
    ...rule,
    enabled: change.enabled ?? rule.enabled,
    actions: change.actions ? structuredClone(change.actions) : rule.actions,
  };
}

function userRuleToJson(kind: RuleKind, rule: UserRule): PushRule {
  const json: PushRule = { rule_id: rule.rule_id, default: false, enabled: rule.enabled, actions: structuredClone(rule.actions) };
  if (kind === 'override' || kind === 'underride') json.conditions = structuredClone(rule.conditions ?? []);
  if (kind === 'content') json.pattern = rule.pattern ?? '';
  return json;
}

/**
 * The rule set clients GET: predefined rules rank below the user's own of the same kind,
 * except `.m.rule.master`, which ranks above everything (spec, "Predefined Rules").
 */
export function buildPushRules(userId: string, stored: UserPushRules = {}): PushRulesJson {
  const defaults = defaultRules(userId);
  const custom = (kind: RuleKind) => (stored.custom?.[kind] ?? []).map((r) => userRuleToJson(kind, r));
  const predefined = (kind: 'override' | 'content' | 'underride') => defaults[kind].map((r) => withChange(stored, kind, r));
  const override = predefined('override');
  const masterAt = override.findIndex((r) => r.rule_id === MASTER_RULE_ID);
  const [master] = override.splice(masterAt, 1);
  return {
    global: {
      override: [master, ...custom('override'), ...override],
      content: [...custom('content'), ...predefined('content')],
      room: custom('room'),
      sender: custom('sender'),
      underride: [...custom('underride'), ...predefined('underride')],
    },
  };
}

export function findRule(ruleset: Ruleset, kind: RuleKind, ruleId: string): PushRule | undefined {
  return ruleset[kind].find((r) => r.rule_id === ruleId);
}

/** For GET of one rule (and its `/enabled`, `/actions`): 404 M_NOT_FOUND when absent. */
export function getRule(ruleset: Ruleset, kind: RuleKind, ruleId: string): PushRule {
  const rule = findRule(ruleset, kind, ruleId);
  if (!rule) throw notFound();
  return rule;
}

/** A user-defined rule id: ids starting with `.` are the server's, `/` and `\` are not allowed. */
export function checkUserRuleId(ruleId: string): void {
  if (ruleId.length === 0) throw errors.invalidParam('The rule id must not be empty.');
  if (ruleId.startsWith('.')) throw errors.invalidParam("Rule ids starting with '.' are reserved for server-default rules.");
  if (ruleId.includes('/') || ruleId.includes('\\')) throw errors.invalidParam('Rule ids may not contain slashes or backslashes.');
  if (ruleId.length > MAX_RULE_ID_LENGTH) throw errors.invalidParam(`Rule ids may be at most ${MAX_RULE_ID_LENGTH} characters.`);
}

function isScalar(value: unknown): value is JsonScalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isSafeInteger(value))
  );
}

function checkParam(value: unknown, what: string): string {
  if (typeof value !== 'string') throw errors.badJson(`${what} must be a string.`);
  if (value.length > MAX_PARAM_LENGTH) throw errors.badJson(`${what} is too long.`);
  return value;
}

function checkKey(value: unknown, what: string): string {
  const key = checkParam(value, what);
  if (key.length === 0) throw errors.badJson(`${what} must not be empty.`);
  return key;
}

/** One condition: known kinds must carry their parameters; unknown kinds are kept (they never match). */
export function parseCondition(raw: unknown, at: string): PushCondition {
  if (!isObject(raw)) throw errors.badJson(`${at} must be an object.`);
  const kind = raw.kind;
  if (typeof kind !== 'string' || kind.length === 0) throw errors.badJson(`${at}.kind must be a non-empty string.`);
  switch (kind) {
    case 'event_match':
      checkKey(raw.key, `${at}.key`);
      checkParam(raw.pattern, `${at}.pattern`);
      break;
    case 'event_property_is':
    case 'event_property_contains':
      checkKey(raw.key, `${at}.key`);
      if (!Object.hasOwn(raw, 'value') || !isScalar(raw.value)) {
        throw errors.badJson(`${at}.value must be a string, an integer, a boolean or null.`);
      }
      if (typeof raw.value === 'string') checkParam(raw.value, `${at}.value`);
      break;
    case 'room_member_count':
      if (typeof raw.is !== 'string' || !parseMemberCount(raw.is)) {
        throw errors.badJson(`${at}.is must be a number optionally prefixed by ==, <, >, <= or >=.`);
      }
      break;
    case 'sender_notification_permission':
      checkKey(raw.key, `${at}.key`);
      break;
    default:
      break;
  }
  return structuredClone(raw) as PushCondition;
}

/** An actions array (PUT body or `/actions`): unknown actions are refused, tweaks pass through. */
export function parseActions(raw: unknown): PushAction[] {
  if (!Array.isArray(raw)) throw errors.badJson('actions must be an array.');
  if (raw.length > MAX_ACTIONS) throw errors.badJson(`At most ${MAX_ACTIONS} actions are allowed.`);
  return raw.map((action: unknown, i): PushAction => {
    if (typeof action === 'string') {
      if (action === 'notify' || LEGACY_ACTIONS.has(action)) return action;
      throw errors.badJson(`Unrecognised action: ${action}`);
    }
    if (!isObject(action) || typeof action.set_tweak !== 'string' || action.set_tweak.length === 0) {
      throw errors.badJson(`actions[${i}] must be an action name or a set_tweak object.`);
    }
    if (action.set_tweak === 'highlight' && Object.hasOwn(action, 'value') && typeof action.value !== 'boolean') {
      throw errors.badJson('The highlight tweak takes a boolean value.');
    }
    if (action.set_tweak === 'sound' && typeof action.value !== 'string') {
      throw errors.badJson('The sound tweak takes a string value.');
    }
    return structuredClone(action) as PushTweak;
  });
}

/** The body of `PUT .../actions`. */
export function parseActionsBody(body: unknown): PushAction[] {
  if (!isObject(body)) throw errors.badJson('The body must be a JSON object.');
  return parseActions(body.actions);
}

/** The body of `PUT .../enabled`. */
export function parseEnabledBody(body: unknown): boolean {
  if (!isObject(body) || typeof body.enabled !== 'boolean') throw errors.badJson('enabled must be a boolean.');
  return body.enabled;
}

/** The body of `PUT /pushrules/global/{kind}/{ruleId}`: what the kind needs, the rest ignored. */
export function parseRuleBody(kind: RuleKind, body: unknown): Pick<UserRule, 'actions' | 'conditions' | 'pattern'> {
  if (!isObject(body)) throw errors.badJson('The body must be a JSON object.');
  if (JSON.stringify(body).length > MAX_RULE_JSON_LENGTH) throw errors.badJson('The push rule is too large.');
  const actions = parseActions(body.actions);
  switch (kind) {
    case 'override':
    case 'underride': {
      // Optional in the schema, but every client sends it and sytest expects a 400 without it.
      if (!Array.isArray(body.conditions)) throw errors.badJson(`${kind} rules need a conditions array.`);
      if (body.conditions.length > MAX_CONDITIONS) throw errors.badJson(`At most ${MAX_CONDITIONS} conditions are allowed.`);
      const conditions = body.conditions.map((c: unknown, i) => parseCondition(c, `conditions[${i}]`));
      return { actions, conditions };
    }
    case 'content': {
      const pattern = checkParam(body.pattern, 'pattern');
      if (pattern.length === 0) throw errors.badJson('pattern must not be empty.');
      return { actions, pattern };
    }
    case 'room':
    case 'sender':
      return { actions };
  }
}

/**
 * `list` without `item`, and `item` placed per the PUT's `before`/`after` (relative to
 * user-defined rules only), or first (the most important) when neither is given.
 */
export function insertRelative<T extends { rule_id: string }>(list: readonly T[], item: T, position: RulePosition): T[] {
  const rest = list.filter((r) => r.rule_id !== item.rule_id);
  const anchor = position.before ?? position.after;
  if (anchor === undefined) return [item, ...rest];
  if (anchor.startsWith('.')) throw errors.invalidParam('Rules cannot be placed relative to a predefined rule.');
  const at = rest.findIndex((r) => r.rule_id === anchor);
  if (at < 0) throw errors.invalidParam(`before/after rule not found: ${anchor}`);
  const index = position.before !== undefined ? at : at + 1;
  return [...rest.slice(0, index), item, ...rest.slice(index)];
}

function customOf(stored: UserPushRules, kind: RuleKind): UserRule[] {
  return stored.custom?.[kind] ?? [];
}

function withCustom(stored: UserPushRules, kind: RuleKind, rules: UserRule[]): UserPushRules {
  const next = structuredClone(stored);
  next.custom = { ...next.custom, [kind]: rules };
  return next;
}

/**
 * PUT of a user-defined rule: a new rule is enabled; an existing one keeps whether it is
 * enabled and, unless `before`/`after` move it, its place.
 */
export function putUserRule(
  stored: UserPushRules,
  kind: RuleKind,
  ruleId: string,
  body: unknown,
  position: RulePosition = {},
): UserPushRules {
  checkUserRuleId(ruleId);
  const parsed = parseRuleBody(kind, body);
  const list = customOf(stored, kind);
  const existing = list.find((r) => r.rule_id === ruleId);
  const rule: UserRule = { rule_id: ruleId, enabled: existing?.enabled ?? true, ...parsed };
  const moved = position.before !== undefined || position.after !== undefined;
  const rules = existing && !moved ? list.map((r) => (r.rule_id === ruleId ? rule : r)) : insertRelative(list, rule, position);
  return withCustom(stored, kind, rules);
}

/** DELETE: predefined rules can only be disabled, never deleted. */
export function deleteUserRule(stored: UserPushRules, kind: RuleKind, ruleId: string): UserPushRules {
  if (isPredefinedRule(kind, ruleId)) throw errors.invalidParam('Predefined push rules cannot be deleted.');
  const list = customOf(stored, kind);
  if (!list.some((r) => r.rule_id === ruleId)) throw notFound();
  return withCustom(stored, kind, list.filter((r) => r.rule_id !== ruleId));
}

function changeRule(
  stored: UserPushRules,
  kind: RuleKind,
  ruleId: string,
  change: PredefinedRuleChange,
): UserPushRules {
  if (isPredefinedRule(kind, ruleId)) {
    const next = structuredClone(stored);
    const changes = { ...next.predefined?.[kind] };
    changes[ruleId] = { ...predefinedChange(stored, kind, ruleId), ...structuredClone(change) };
    next.predefined = { ...next.predefined, [kind]: changes };
    return next;
  }
  const list = customOf(stored, kind);
  if (!list.some((r) => r.rule_id === ruleId)) throw notFound();
  return withCustom(stored, kind, list.map((r) => (r.rule_id === ruleId ? { ...r, ...structuredClone(change) } : r)));
}

/** PUT `.../enabled`, for predefined and user-defined rules alike; 404 for unknown ids. */
export function setRuleEnabled(stored: UserPushRules, kind: RuleKind, ruleId: string, enabled: boolean): UserPushRules {
  return changeRule(stored, kind, ruleId, { enabled });
}

/** PUT `.../actions` (validate with `parseActionsBody` first); 404 for unknown ids. */
export function setRuleActions(stored: UserPushRules, kind: RuleKind, ruleId: string, actions: PushAction[]): UserPushRules {
  return changeRule(stored, kind, ruleId, { actions });
}
