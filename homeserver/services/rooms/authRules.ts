/**
 * The Matrix authorization rules for room versions 10 and 11 (spec: "Authorization rules"
 * in the room version 10 and 11 documents), as pure functions of an event and the room state
 * it is checked against. No storage, no clock: the room service looks up the state entries
 * named by `authStateKeysFor` and asks `checkEventAuth`.
 *
 * Rules that only matter between servers are simplified for a single-server homeserver:
 * there are no signatures to verify (rules "must be signed by the sender's server" and 4.2),
 * and auth_events are the caller's state lookup, so rule 2 reduces to "a create event exists".
 */
import { MatrixError } from '../../errors.ts';

export type RoomVersion = '10' | '11';

/** The fields the rules read; events are Matrix PDUs. */
export interface AuthEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
}

/** The current room state relevant to auth, keyed by `${type}\u0000${state_key}`. */
export type AuthState = Map<string, AuthEvent>;

const CREATE = 'm.room.create';
const MEMBER = 'm.room.member';
const POWER_LEVELS = 'm.room.power_levels';
const JOIN_RULES = 'm.room.join_rules';
const THIRD_PARTY_INVITE = 'm.room.third_party_invite';

/** The named levels of m.room.power_levels, with the spec's defaults when absent. */
const NAMED_LEVEL_DEFAULTS = { invite: 0, kick: 50, ban: 50, redact: 50 } as const;
/** Every top-level integer of m.room.power_levels (rules 9.1 and 9.5). */
const TOP_LEVEL_LEVELS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const;
/** The maps from a name to a required level (rules 9.2, 9.6 and 9.7). */
const LEVEL_MAPS = ['events', 'notifications'] as const;

/** The creator's power when the room has no m.room.power_levels event yet. */
const CREATOR_DEFAULT_LEVEL = 100;

/** Builds the AuthState map key (NUL cannot occur in either part, so keys never collide). */
export function stateKey(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

function forbid(reason: string): never {
  throw new MatrixError(403, 'M_FORBIDDEN', reason);
}

// ---------------------------------------------------------------------------------------
// Reading state

/** Canonical JSON only allows integers in [-(2^53)+1, 2^53-1], which is exactly "safe". */
function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A level read from stored state; anything not an integer counts as absent. */
function levelOrUndefined(value: unknown): number | undefined {
  return isInteger(value) ? value : undefined;
}

function hasOwn(obj: Record<string, unknown> | undefined, key: string): boolean {
  return obj !== undefined && Object.hasOwn(obj, key);
}

/** The server name part of a user or room ID, or undefined when it has none. */
function domainOf(id: string): string | undefined {
  const colon = id.indexOf(':');
  return colon < 0 || colon === id.length - 1 ? undefined : id.slice(colon + 1);
}

function isUserId(id: string): boolean {
  return id.startsWith('@') && id.indexOf(':') > 1 && domainOf(id) !== undefined && id.length <= 255;
}

function createEvent(state: AuthState): AuthEvent | undefined {
  return state.get(stateKey(CREATE, ''));
}

function powerLevelsContent(state: AuthState): Record<string, unknown> | undefined {
  return state.get(stateKey(POWER_LEVELS, ''))?.content;
}

/**
 * v11 dropped `content.creator`: the creator is whoever sent the create event. In v10 the
 * content names the creator (the v10 create rule guarantees the property exists). A v11
 * create event may still carry a stray `creator` key, which must not count.
 */
function creatorOf(create: AuthEvent): string {
  const creator = create.content.creator;
  return create.content.room_version !== '11' && typeof creator === 'string' ? creator : create.sender;
}

function membershipOf(state: AuthState, userId: string): string | undefined {
  const membership = state.get(stateKey(MEMBER, userId))?.content.membership;
  return typeof membership === 'string' ? membership : undefined;
}

/** Without an m.room.join_rules event a room is invite-only (as every implementation reads it). */
function joinRuleOf(state: AuthState): string {
  const rule = state.get(stateKey(JOIN_RULES, ''))?.content.join_rule;
  return typeof rule === 'string' ? rule : 'invite';
}

/** A user's power level: their `users` entry, else `users_default`, else the no-power-levels rule. */
export function userPowerLevel(state: AuthState, userId: string): number {
  const levels = powerLevelsContent(state);
  if (levels === undefined) {
    const create = createEvent(state);
    return create !== undefined && creatorOf(create) === userId ? CREATOR_DEFAULT_LEVEL : 0;
  }
  const usersDefault = levelOrUndefined(levels.users_default) ?? 0;
  const users = asObject(levels.users);
  return hasOwn(users, userId) ? levelOrUndefined(users?.[userId]) ?? usersDefault : usersDefault;
}

/**
 * The level needed to send an event of this type: its `events` entry, else `state_default`
 * (50) or `events_default` (0). The current spec gives 50 for state even when the room has
 * no power levels event; with no such event only the creator (100) can then send state.
 */
export function requiredPowerLevel(state: AuthState, eventType: string, isState: boolean): number {
  const levels = powerLevelsContent(state);
  const fallback = isState
    ? levelOrUndefined(levels?.state_default) ?? 50
    : levelOrUndefined(levels?.events_default) ?? 0;
  const events = asObject(levels?.events);
  return hasOwn(events, eventType) ? levelOrUndefined(events?.[eventType]) ?? fallback : fallback;
}

/** The level an action needs; `redact` is for redacting other users' events (the caller's check). */
export function powerLevelFor(state: AuthState, action: 'invite' | 'kick' | 'ban' | 'redact'): number {
  return levelOrUndefined(powerLevelsContent(state)?.[action]) ?? NAMED_LEVEL_DEFAULTS[action];
}

/**
 * Which state entries the rules need for this event, as AuthState keys: the create event,
 * the power levels and the sender's membership always; for membership changes also the
 * target's membership, the join rules (join, invite, knock) and, for a join authorised by
 * another user in a restricted room, that user's membership. For a create event the only
 * entry is an existing create event, whose presence rejects it.
 */
export function authStateKeysFor(event: Omit<AuthEvent, 'event_id'>): string[] {
  if (event.type === CREATE) return [stateKey(CREATE, '')];
  const keys = new Set([stateKey(CREATE, ''), stateKey(POWER_LEVELS, ''), stateKey(MEMBER, event.sender)]);
  if (event.type === MEMBER && typeof event.state_key === 'string') {
    keys.add(stateKey(MEMBER, event.state_key));
    const membership = event.content.membership;
    if (membership === 'join' || membership === 'invite' || membership === 'knock') {
      keys.add(stateKey(JOIN_RULES, ''));
    }
    const via = event.content.join_authorised_via_users_server;
    if (membership === 'join' && typeof via === 'string') keys.add(stateKey(MEMBER, via));
  }
  return [...keys];
}

// ---------------------------------------------------------------------------------------
// The rules

/** Throws MatrixError(403, 'M_FORBIDDEN', reason) when the event is not allowed. */
export function checkEventAuth(event: AuthEvent, state: AuthState, roomVersion: RoomVersion): void {
  // The type is only erased at runtime; a caller passing another version must not get v10 rules.
  if (roomVersion !== '10' && roomVersion !== '11') forbid(`Room version ${String(roomVersion)} is not supported.`);
  if (event.type === CREATE) return checkCreate(event, state, roomVersion);

  // Rule 2 (auth events): the state lookup stands in for auth_events; a create must be there.
  const create = createEvent(state);
  if (create === undefined) forbid('The room has no m.room.create event.');
  if (event.room_id !== create.room_id) forbid(`The event belongs to ${event.room_id}, not ${create.room_id}.`);

  // Rule 3: a room created with m.federate false only takes events from the creating server.
  if (create.content['m.federate'] === false && domainOf(event.sender) !== domainOf(create.sender)) {
    forbid('This room does not accept events from other servers (m.federate is false).');
  }

  if (event.type === MEMBER) return checkMembership(event, state, create, roomVersion);

  // Rule 5: everything else needs a joined sender.
  if (membershipOf(state, event.sender) !== 'join') forbid(`${event.sender} is not joined to this room.`);
  const senderLevel = userPowerLevel(state, event.sender);

  // Rule 6: third-party invite tokens are governed by the invite level alone.
  if (event.type === THIRD_PARTY_INVITE) {
    const inviteLevel = powerLevelFor(state, 'invite');
    if (senderLevel < inviteLevel) {
      forbid(`Sending ${THIRD_PARTY_INVITE} needs power level ${inviteLevel}; ${event.sender} has ${senderLevel}.`);
    }
    return;
  }

  // Rule 7: the event type's required level (m.room.redaction included: whether the redacted
  // event is the sender's own, or needs the `redact` level, is decided by the caller).
  const isState = event.state_key !== undefined;
  const required = requiredPowerLevel(state, event.type, isState);
  if (required > senderLevel) {
    forbid(`Sending ${event.type} needs power level ${required}; ${event.sender} has ${senderLevel}.`);
  }

  // Rule 8: a state key naming a user is that user's own.
  if (isState && event.state_key?.startsWith('@') && event.state_key !== event.sender) {
    forbid(`Only ${event.state_key} may send ${event.type} with their user ID as state key.`);
  }

  if (event.type === POWER_LEVELS) checkPowerLevels(event, state, senderLevel);
  // Rule 10: otherwise allow.
}

/** Rule 1. The event must start a room: nothing may precede it. */
function checkCreate(event: AuthEvent, state: AuthState, roomVersion: RoomVersion): void {
  if (state.size > 0) forbid('m.room.create must be the first event in a room.');
  if (event.state_key !== '') forbid('m.room.create must be a state event with an empty state key.');
  const roomDomain = domainOf(event.room_id);
  if (roomDomain === undefined || roomDomain !== domainOf(event.sender)) {
    forbid('The room ID and the creator must belong to the same server.');
  }
  // Absent means version 1; the declared version is the one whose rules apply to the room.
  const declared = event.content.room_version ?? '1';
  if (declared !== roomVersion) {
    forbid(`m.room.create declares room version ${JSON.stringify(declared)}, but the room is version ${roomVersion}.`);
  }
  if (roomVersion === '10' && !hasOwn(event.content, 'creator')) {
    forbid('In room version 10, m.room.create must name the creator in content.creator.');
  }
}

/** Rule 4: membership changes, each with its own rules and no event-type power level. */
function checkMembership(event: AuthEvent, state: AuthState, create: AuthEvent, roomVersion: RoomVersion): void {
  const target = event.state_key;
  const membership = event.content.membership;
  if (typeof target !== 'string') forbid('m.room.member needs a state key naming the target user.');
  if (typeof membership !== 'string') forbid('m.room.member needs content.membership.');
  // Rule 4.2 (join_authorised_via_users_server must be signed by that user's server) has
  // nothing to check on one server: only this server's own users can authorise.
  switch (membership) {
    case 'join':
      return checkJoin(event, state, create, target, roomVersion);
    case 'invite':
      return checkInvite(event, state, target);
    case 'leave':
      return checkLeave(event, state, target);
    case 'ban':
      return checkBan(event, state, target);
    case 'knock':
      return checkKnock(event, state, target);
    default:
      forbid(`Unknown membership ${JSON.stringify(membership)}.`);
  }
}

/** Rule 4.3. */
function checkJoin(event: AuthEvent, state: AuthState, create: AuthEvent, target: string, roomVersion: RoomVersion): void {
  // Checked before the creator's first join too: nobody else may join on the creator's behalf.
  if (event.sender !== target) forbid('Users can only join a room themselves.');

  // 4.3.1: the creator's own join right after the create event. "Only the create event
  // precedes it" is read off the state: before that join the room holds nothing else.
  const creator = roomVersion === '11' ? create.sender : creatorOf(create);
  if (target === creator && state.size === 1) return;

  const current = membershipOf(state, target);
  if (current === 'ban') forbid(`${target} is banned from this room.`);

  const joinRule = joinRuleOf(state);
  switch (joinRule) {
    case 'public':
      return;
    case 'invite':
    case 'knock':
      if (current === 'invite' || current === 'join') return;
      forbid(`This room is invite-only and ${target} has not been invited.`);
    case 'restricted':
    case 'knock_restricted': {
      if (current === 'invite' || current === 'join') return;
      // Whether the joiner meets the `allow` conditions is the authorising server's call (the
      // caller's); the rules only check that the authoriser could have invited them instead.
      const via = event.content.join_authorised_via_users_server;
      if (typeof via !== 'string') {
        forbid(`This room is restricted and ${target} was not invited, so the join needs join_authorised_via_users_server.`);
      }
      if (membershipOf(state, via) !== 'join') forbid(`The authorising user ${via} is not joined to this room.`);
      const inviteLevel = powerLevelFor(state, 'invite');
      if (userPowerLevel(state, via) < inviteLevel) {
        forbid(`The authorising user ${via} does not have the power to invite (level ${inviteLevel}).`);
      }
      return;
    }
    default:
      forbid(`This room cannot be joined (join rule ${JSON.stringify(joinRule)}).`);
  }
}

/** Rule 4.4. */
function checkInvite(event: AuthEvent, state: AuthState, target: string): void {
  if (hasOwn(event.content, 'third_party_invite')) forbid('Third-party invites are not supported.');
  if (membershipOf(state, event.sender) !== 'join') forbid(`${event.sender} is not joined to this room.`);
  const current = membershipOf(state, target);
  if (current === 'join') forbid(`${target} is already in this room.`);
  if (current === 'ban') forbid(`${target} is banned from this room.`);
  const inviteLevel = powerLevelFor(state, 'invite');
  const senderLevel = userPowerLevel(state, event.sender);
  if (senderLevel < inviteLevel) {
    forbid(`Inviting needs power level ${inviteLevel}; ${event.sender} has ${senderLevel}.`);
  }
}

/** Rule 4.5: leaving, rejecting an invite, retracting a knock, kicking and unbanning. */
function checkLeave(event: AuthEvent, state: AuthState, target: string): void {
  const current = membershipOf(state, target);
  if (event.sender === target) {
    if (current === 'invite' || current === 'join' || current === 'knock') return;
    forbid(current === 'ban' ? `${target} is banned and cannot leave.` : `${target} is not in this room.`);
  }
  if (membershipOf(state, event.sender) !== 'join') forbid(`${event.sender} is not joined to this room.`);
  const senderLevel = userPowerLevel(state, event.sender);
  if (current === 'ban') {
    const banLevel = powerLevelFor(state, 'ban');
    if (senderLevel < banLevel) forbid(`Unbanning needs power level ${banLevel}; ${event.sender} has ${senderLevel}.`);
  }
  const kickLevel = powerLevelFor(state, 'kick');
  if (senderLevel < kickLevel) {
    forbid(`Kicking needs power level ${kickLevel}; ${event.sender} has ${senderLevel}.`);
  }
  if (userPowerLevel(state, target) >= senderLevel) {
    forbid(`${event.sender} cannot remove ${target}, whose power level is not below their own.`);
  }
}

/** Rule 4.6. */
function checkBan(event: AuthEvent, state: AuthState, target: string): void {
  if (membershipOf(state, event.sender) !== 'join') forbid(`${event.sender} is not joined to this room.`);
  const senderLevel = userPowerLevel(state, event.sender);
  const banLevel = powerLevelFor(state, 'ban');
  if (senderLevel < banLevel) forbid(`Banning needs power level ${banLevel}; ${event.sender} has ${senderLevel}.`);
  if (userPowerLevel(state, target) >= senderLevel) {
    forbid(`${event.sender} cannot ban ${target}, whose power level is not below their own.`);
  }
}

/** Rule 4.7. */
function checkKnock(event: AuthEvent, state: AuthState, target: string): void {
  const joinRule = joinRuleOf(state);
  if (joinRule !== 'knock' && joinRule !== 'knock_restricted') forbid('This room does not accept knocks.');
  if (event.sender !== target) forbid('Users can only knock for themselves.');
  const current = membershipOf(state, target);
  if (current === 'ban') forbid(`${target} is banned from this room.`);
  if (current === 'invite') forbid(`${target} is already invited to this room.`);
  if (current === 'join') forbid(`${target} is already in this room.`);
}

/** Rule 9: power levels must be well-formed and only change within the sender's own power. */
function checkPowerLevels(event: AuthEvent, state: AuthState, senderLevel: number): void {
  const next = event.content;

  // 9.1-9.3 (v10+): integers only, no string forms.
  for (const key of TOP_LEVEL_LEVELS) {
    if (hasOwn(next, key) && !isInteger(next[key])) forbid(`Power level ${key} must be an integer.`);
  }
  for (const key of LEVEL_MAPS) {
    if (!hasOwn(next, key)) continue;
    const map = asObject(next[key]);
    if (map === undefined) forbid(`Power level ${key} must be an object.`);
    for (const [name, level] of Object.entries(map)) {
      if (!isInteger(level)) forbid(`Power level ${key}.${name} must be an integer.`);
    }
  }
  if (hasOwn(next, 'users')) {
    const users = asObject(next.users);
    if (users === undefined) forbid('Power level users must be an object.');
    for (const [userId, level] of Object.entries(users)) {
      if (!isUserId(userId)) forbid(`Power level users has an invalid user ID ${JSON.stringify(userId)}.`);
      if (!isInteger(level)) forbid(`Power level for ${userId} must be an integer.`);
    }
  }

  // 9.4: the first power levels event sets the room up freely (its sender passed rule 7).
  const previous = state.get(stateKey(POWER_LEVELS, ''))?.content;
  if (previous === undefined) return;

  // 9.5: a top-level level can only be moved from and to values within the sender's power.
  for (const key of TOP_LEVEL_LEVELS) {
    const before = levelOrUndefined(previous[key]);
    const after = levelOrUndefined(next[key]);
    if (before === after) continue;
    if (before !== undefined && before > senderLevel) {
      forbid(`Cannot change ${key}: its current level ${before} is above your power level ${senderLevel}.`);
    }
    if (after !== undefined && after > senderLevel) {
      forbid(`Cannot set ${key} to ${after}, above your power level ${senderLevel}.`);
    }
  }

  // 9.6-9.7: the same for each event type and notification level.
  for (const key of LEVEL_MAPS) {
    forEachChange(asObject(previous[key]), asObject(next[key]), (name, before, after) => {
      if (before !== undefined && before > senderLevel) {
        forbid(`Cannot change ${key}.${name}: its current level ${before} is above your power level ${senderLevel}.`);
      }
      if (after !== undefined && after > senderLevel) {
        forbid(`Cannot set ${key}.${name} to ${after}, above your power level ${senderLevel}.`);
      }
    });
  }

  // 9.8-9.9: nobody may touch a peer or superior, and nobody may be raised above the sender;
  // the sender may lower (but not raise) themselves.
  forEachChange(asObject(previous.users), asObject(next.users), (userId, before, after) => {
    if (userId !== event.sender && before !== undefined && before >= senderLevel) {
      forbid(`Cannot change the power level of ${userId}, which is not below your own (${senderLevel}).`);
    }
    if (after !== undefined && after > senderLevel) {
      forbid(`Cannot give ${userId} power level ${after}, above your own (${senderLevel}).`);
    }
  });
}

/** Calls `visit` for each name added, changed or removed between two level maps. */
function forEachChange(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
  visit: (name: string, before: number | undefined, after: number | undefined) => void,
): void {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const name of names) {
    const old = hasOwn(before, name) ? levelOrUndefined(before?.[name]) : undefined;
    const now = hasOwn(after, name) ? levelOrUndefined(after?.[name]) : undefined;
    if (old !== now) visit(name, old, now);
  }
}

/** Keys state events by (type, state_key), as the rules read them. */
export function toAuthState(events: Iterable<AuthEvent>): AuthState {
  const state: AuthState = new Map();
  for (const e of events) state.set(stateKey(e.type, e.state_key ?? ''), e);
  return state;
}
