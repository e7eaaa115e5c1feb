/**
 * Push rule evaluation (spec: Client-Server API "Push Rules", "Conditions", "Actions"):
 * the first enabled rule that matches, in kind order, decides whether an event notifies
 * its recipient and how.
 */
import { LEGACY_MENTION_RULE_IDS } from './defaultRules.ts';
import type { PushAction, PushCondition, PushRule, RuleKind, Ruleset } from './ruleset.ts';

/** The parts of an event push rules can look at; any other property is reachable by key. */
export interface PushEvent {
  type: string;
  sender: string;
  room_id?: string;
  state_key?: string;
  content: object;
}

export interface PushContext {
  /** The recipient. */
  userId: string;
  /** The recipient's display name in the room. */
  displayName: string | null;
  roomMemberCount: number;
  senderPowerLevel: number;
  /** `notifications` of the room's power levels; an absent key requires 50. */
  notificationPowerLevels: Record<string, number>;
}

export interface PushResult {
  notify: boolean;
  highlight: boolean;
  sound?: string;
  /** The rule that decided, whether or not it notifies. */
  ruleId?: string;
  /** Every tweak of the deciding rule, for the push gateway (only when notifying). */
  tweaks?: Record<string, unknown>;
}

const KIND_ORDER: readonly RuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];
const DEFAULT_NOTIFICATION_LEVEL = 50;
const MEMBER_COUNT = /^(==|<=|>=|<|>)?([0-9]+)$/;

type Comparison = '==' | '<' | '>' | '<=' | '>=';

/** A `room_member_count` condition's `is`, e.g. `2` or `<=10`; null when malformed. */
export function parseMemberCount(is: string): { op: Comparison; n: number } | null {
  const m = MEMBER_COUNT.exec(is);
  if (!m) return null;
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n)) return null;
  return { op: (m[1] ?? '==') as Comparison, n };
}

/** Spec appendix "Dot-separated property paths": `\.` is a literal dot, `\\` a backslash. */
export function splitKeyPath(key: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) {
      current += key[i + 1];
      i++;
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** The value at a dotted key, or undefined when any step is missing or not an object. */
export function lookupKey(event: PushEvent, key: string): unknown {
  let value: unknown = event;
  for (const part of splitKeyPath(key)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (!Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

// A glob as code points, with the two wildcards as negative numbers, so a display name
// (matched literally) and a pattern share one matcher.
const STAR = -1;
const ONE = -2;

function codePoints(text: string): number[] {
  return Array.from(text, (c) => c.codePointAt(0) as number);
}

function globTokens(pattern: string): number[] {
  return codePoints(pattern).map((c) => (c === 0x2a ? STAR : c === 0x3f ? ONE : c));
}

/** Word characters are [A-Za-z0-9_]; anything else, and the ends, are word boundaries. */
function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function closeOverStars(tokens: readonly number[], states: Uint8Array): void {
  for (let i = 0; i < tokens.length; i++) if (states[i] && tokens[i] === STAR) states[i + 1] = 1;
}

/**
 * Runs the glob as an automaton over the text, so the cost is length × pattern length
 * whatever the pattern (a backtracking RegExp of `*a*a*a…` is not). In word mode it may
 * match any substring that starts and ends at a word boundary; otherwise the whole text.
 */
function matchTokens(tokens: readonly number[], text: readonly number[], words: boolean): boolean {
  const m = tokens.length;
  let states = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  let live = false;
  for (let k = 0; ; k++) {
    if (k === 0 || (words && !isWordChar(text[k - 1]))) {
      states[0] = 1;
      live = true;
      closeOverStars(tokens, states);
    }
    if (states[m] && (k === text.length || (words && !isWordChar(text[k])))) return true;
    if (k === text.length || (!live && !words)) return false;
    next.fill(0);
    live = false;
    for (let i = 0; i < m; i++) {
      if (!states[i]) continue;
      const t = tokens[i];
      if (t === STAR) next[i] = 1;
      else if (t === ONE || t === text[k]) next[i + 1] = 1;
      else continue;
      live = true;
    }
    closeOverStars(tokens, next);
    [states, next] = [next, states];
  }
}

/**
 * Glob match (spec appendix "Glob-style matching": `*` any run, `?` one character),
 * case-insensitive; `words` for the `content.body` rule of matching at word boundaries.
 */
export function globMatch(pattern: string, value: string, words = false): boolean {
  return matchTokens(globTokens(pattern.toLowerCase()), codePoints(value.toLowerCase()), words);
}

/**
 * One event as the rules see it, with what they work out from it kept: the values at keys,
 * texts as lower-case code points, and patterns as tokens. One per event serves all its
 * recipients, whose rules are mostly the same defaults (a group message in a room of twenty
 * otherwise turned its body into code points dozens of times).
 */
export class EventMatcher {
  readonly event: PushEvent;
  /** Deprecated body-scanning rules apply only to events without intentional mentions (v1.7). */
  readonly hasMentions: boolean;
  private readonly values = new Map<string, unknown>();
  private readonly texts = new Map<string, number[]>();
  private readonly patterns = new Map<string, number[]>();

  constructor(event: PushEvent) {
    this.event = event;
    const content: unknown = event.content;
    this.hasMentions = typeof content === 'object' && content !== null && Object.hasOwn(content, 'm.mentions');
  }

  value(key: string): unknown {
    if (!this.values.has(key)) this.values.set(key, lookupKey(this.event, key));
    return this.values.get(key);
  }

  /** A glob (or, `literal`, a plain text such as a display name) against a text of the event. */
  matches(pattern: string, text: string, words: boolean, literal = false): boolean {
    const key = literal ? `\0${pattern}` : pattern;
    let tokens = this.patterns.get(key);
    if (!tokens) this.patterns.set(key, (tokens = literal ? codePoints(pattern.toLowerCase()) : globTokens(pattern.toLowerCase())));
    let points = this.texts.get(text);
    if (!points) this.texts.set(text, (points = codePoints(text.toLowerCase())));
    return matchTokens(tokens, points, words);
  }
}

function compare(count: number, is: string): boolean {
  const parsed = parseMemberCount(is);
  if (!parsed) return false;
  switch (parsed.op) {
    case '==': return count === parsed.n;
    case '<': return count < parsed.n;
    case '>': return count > parsed.n;
    case '<=': return count <= parsed.n;
    case '>=': return count >= parsed.n;
  }
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number';
}

function conditionHolds(condition: PushCondition, m: EventMatcher, ctx: PushContext): boolean {
  switch (condition.kind) {
    case 'event_match': {
      if (typeof condition.key !== 'string' || typeof condition.pattern !== 'string') return false;
      const value = m.value(condition.key);
      if (typeof value !== 'string') return false;
      return m.matches(condition.pattern, value, condition.key === 'content.body');
    }
    case 'event_property_is': {
      if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
      const value = m.value(condition.key);
      return isScalar(value) && value === condition.value;
    }
    case 'event_property_contains': {
      if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
      const value = m.value(condition.key);
      return Array.isArray(value) && value.some((v) => isScalar(v) && v === condition.value);
    }
    case 'contains_display_name': {
      const body = m.value('content.body');
      const name = ctx.displayName?.trim();
      // The name is matched literally, between word boundaries.
      return typeof body === 'string' && !!name && m.matches(name, body, true, true);
    }
    case 'room_member_count':
      return typeof condition.is === 'string' && compare(ctx.roomMemberCount, condition.is);
    case 'sender_notification_permission': {
      if (typeof condition.key !== 'string') return false;
      const levels = ctx.notificationPowerLevels;
      const level = Object.hasOwn(levels, condition.key) ? levels[condition.key] : undefined;
      const required = typeof level === 'number' && Number.isFinite(level) ? level : DEFAULT_NOTIFICATION_LEVEL;
      return ctx.senderPowerLevel >= required;
    }
    default:
      // Unrecognised conditions never match (spec), which disables their rule.
      return false;
  }
}

function ruleMatches(kind: RuleKind, rule: PushRule, m: EventMatcher, ctx: PushContext): boolean {
  switch (kind) {
    case 'override':
    case 'underride':
      return (rule.conditions ?? []).every((c) => conditionHolds(c, m, ctx));
    case 'content': {
      const body = m.value('content.body');
      return typeof rule.pattern === 'string' && typeof body === 'string' && m.matches(rule.pattern, body, true);
    }
    case 'room':
      // Ids are case-sensitive and may not be globs: an exact comparison.
      return m.event.room_id === rule.rule_id;
    case 'sender':
      return m.event.sender === rule.rule_id;
  }
}

/**
 * What the deciding rule's actions mean. `dont_notify` and `coalesce` are historical and
 * the current spec says to ignore them; highlight and sound count only when notifying.
 */
function outcome(rule: PushRule): PushResult {
  const actions: readonly PushAction[] = rule.actions;
  const notify = actions.includes('notify');
  if (!notify) return { notify: false, highlight: false, ruleId: rule.rule_id };
  const tweaks: Record<string, unknown> = {};
  for (const action of actions) {
    if (typeof action !== 'object' || action === null || typeof action.set_tweak !== 'string') continue;
    // A highlight tweak without a value means true (spec, "Actions").
    tweaks[action.set_tweak] = action.set_tweak === 'highlight' && !Object.hasOwn(action, 'value') ? true : action.value;
  }
  const result: PushResult = { notify: true, highlight: tweaks.highlight === true, ruleId: rule.rule_id, tweaks };
  if (typeof tweaks.sound === 'string') result.sound = tweaks.sound;
  return result;
}

/**
 * Evaluates `ruleset` (the `global` of `buildPushRules`) for one recipient. The recipient's
 * own events never notify (spec) even if a caller asks. For several recipients of one event,
 * pass one EventMatcher of it to each call.
 */
export function evaluatePushRules(ruleset: Ruleset, event: PushEvent | EventMatcher, ctx: PushContext): PushResult {
  const m = event instanceof EventMatcher ? event : new EventMatcher(event);
  if (m.event.sender === ctx.userId) return { notify: false, highlight: false };
  for (const kind of KIND_ORDER) {
    for (const rule of ruleset[kind]) {
      if (!rule.enabled) continue;
      if (m.hasMentions && rule.default && LEGACY_MENTION_RULE_IDS.has(rule.rule_id)) continue;
      if (ruleMatches(kind, rule, m, ctx)) return outcome(rule);
    }
  }
  return { notify: false, highlight: false };
}
