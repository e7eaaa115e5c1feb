/**
 * The v10/v11 authorization rules, table-driven: each case is a room (built from a few
 * options), one event, and whether the rules allow it. Shared tables run under both
 * versions, since the rules only differ for the create event and the room creator.
 */
import assert from 'node:assert/strict';
import { MatrixError } from '../../errors.ts';
import {
  authStateKeysFor,
  checkEventAuth,
  powerLevelFor,
  requiredPowerLevel,
  stateKey,
  userPowerLevel,
  type AuthEvent,
  type AuthState,
  type RoomVersion,
} from './authRules.ts';

const VERSIONS: RoomVersion[] = ['10', '11'];
const ROOM = '!room:hs.test';
const ALICE = '@alice:hs.test'; // the creator, level 100
const BOB = '@bob:hs.test'; // moderator, level 50
const FRANK = '@frank:hs.test'; // another moderator, level 50
const CAROL = '@carol:hs.test'; // joined, level 0
const DAVE = '@dave:hs.test'; // outside the room unless a case says otherwise
const ERIN = '@erin:hs.test'; // used for left or other memberships

const DEFAULT_MEMBERS: Record<string, string> = { [ALICE]: 'join', [BOB]: 'join', [FRANK]: 'join', [CAROL]: 'join' };
const DEFAULT_USERS = { [ALICE]: 100, [BOB]: 50, [FRANK]: 50 };

interface RoomOptions {
  /** Omitted: no m.room.join_rules event at all. */
  joinRule?: string;
  /** Memberships set on top of the default ones (alice, bob, frank, carol joined). */
  members?: Record<string, string>;
  /** Power levels content merged over `{users: DEFAULT_USERS}`; null: no power levels event. */
  powerLevels?: Record<string, unknown> | null;
  /** The room right after its create event, before anybody joined. */
  onlyCreate?: boolean;
  createSender?: string;
  createContent?: Record<string, unknown>;
}

let nextId = 0;
function event(sender: string, type: string, content: Record<string, unknown>, key?: string): AuthEvent {
  nextId += 1;
  const e: AuthEvent = { event_id: `$e${nextId}`, room_id: ROOM, sender, type, content };
  if (key !== undefined) e.state_key = key;
  return e;
}

function createContent(version: RoomVersion, sender: string): Record<string, unknown> {
  return version === '10' ? { room_version: '10', creator: sender } : { room_version: '11' };
}

function room(version: RoomVersion, opts: RoomOptions = {}): AuthState {
  const state: AuthState = new Map();
  const put = (e: AuthEvent): void => {
    state.set(stateKey(e.type, e.state_key ?? ''), e);
  };
  const creator = opts.createSender ?? ALICE;
  put(event(creator, 'm.room.create', opts.createContent ?? createContent(version, creator), ''));
  if (opts.onlyCreate) return state;
  for (const [user, membership] of Object.entries({ ...DEFAULT_MEMBERS, ...opts.members })) {
    put(event(user, 'm.room.member', { membership }, user));
  }
  if (opts.powerLevels !== null) put(event(ALICE, 'm.room.power_levels', { users: DEFAULT_USERS, ...opts.powerLevels }, ''));
  if (opts.joinRule !== undefined) put(event(ALICE, 'm.room.join_rules', { join_rule: opts.joinRule }, ''));
  return state;
}

const member = (sender: string, target: string, membership: string, extra: Record<string, unknown> = {}): AuthEvent =>
  event(sender, 'm.room.member', { membership, ...extra }, target);
const message = (sender: string, type = 'm.room.message'): AuthEvent => event(sender, type, { body: 'hi' });
const stateEvent = (sender: string, type: string, key = '', content: Record<string, unknown> = {}): AuthEvent =>
  event(sender, type, content, key);
const powerLevels = (sender: string, content: Record<string, unknown>): AuthEvent =>
  event(sender, 'm.room.power_levels', content, '');

interface Case {
  name: string;
  room?: RoomOptions;
  event: AuthEvent;
  /** Omitted: the event is allowed. Otherwise the 403's message must match. */
  reject?: RegExp;
}

function expectOutcome(ev: AuthEvent, state: AuthState, version: RoomVersion, reject: RegExp | undefined): void {
  if (reject === undefined) {
    checkEventAuth(ev, state, version);
    return;
  }
  assert.throws(
    () => checkEventAuth(ev, state, version),
    (err: unknown) => {
      assert.ok(err instanceof MatrixError, 'a MatrixError');
      assert.equal(err.status, 403);
      assert.equal(err.errcode, 'M_FORBIDDEN');
      assert.match(err.message, reject);
      return true;
    },
  );
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const version of VERSIONS) {
      for (const c of cases) {
        it(`[v${version}] ${c.name}${c.reject ? ' → rejected' : ' → allowed'}`, () => {
          expectOutcome(c.event, room(version, c.room), version, c.reject);
        });
      }
    }
  });
}

describe('authRules', () => {
  table('join', [
    { name: 'an outsider joins a public room', room: { joinRule: 'public' }, event: member(DAVE, DAVE, 'join') },
    { name: 'a banned user joins a public room', room: { joinRule: 'public', members: { [DAVE]: 'ban' } }, event: member(DAVE, DAVE, 'join'), reject: /banned/ },
    { name: 'someone joins on behalf of another user', room: { joinRule: 'public' }, event: member(ALICE, DAVE, 'join'), reject: /themselves/ },
    { name: 'an uninvited user joins an invite-only room', room: { joinRule: 'invite' }, event: member(DAVE, DAVE, 'join'), reject: /invite-only/ },
    { name: 'an invited user joins an invite-only room', room: { joinRule: 'invite', members: { [DAVE]: 'invite' } }, event: member(DAVE, DAVE, 'join') },
    { name: 'a member re-joins (profile change) in an invite-only room', room: { joinRule: 'invite' }, event: member(CAROL, CAROL, 'join', { displayname: 'C' }) },
    { name: 'a user who left joins an invite-only room again', room: { joinRule: 'invite', members: { [ERIN]: 'leave' } }, event: member(ERIN, ERIN, 'join'), reject: /invite-only/ },
    { name: 'a knocking user joins a knock room without an invite', room: { joinRule: 'knock', members: { [DAVE]: 'knock' } }, event: member(DAVE, DAVE, 'join'), reject: /invite-only/ },
    { name: 'an invited user joins a knock room', room: { joinRule: 'knock', members: { [DAVE]: 'invite' } }, event: member(DAVE, DAVE, 'join') },
    { name: 'a banned user joins an invite-only room', room: { joinRule: 'invite', members: { [DAVE]: 'ban' } }, event: member(DAVE, DAVE, 'join'), reject: /banned/ },
    { name: 'an outsider joins a room without join rules (invite-only)', event: member(DAVE, DAVE, 'join'), reject: /invite-only/ },
    { name: 'an outsider joins a private room', room: { joinRule: 'private' }, event: member(DAVE, DAVE, 'join'), reject: /cannot be joined/ },
    { name: 'a restricted join without an authorising user', room: { joinRule: 'restricted' }, event: member(DAVE, DAVE, 'join'), reject: /join_authorised_via_users_server/ },
    { name: 'a restricted join authorised by a joined user with invite power', room: { joinRule: 'restricted' }, event: member(DAVE, DAVE, 'join', { join_authorised_via_users_server: BOB }) },
    {
      name: 'a restricted join authorised by a user below the invite level',
      room: { joinRule: 'restricted', powerLevels: { invite: 50 } },
      event: member(DAVE, DAVE, 'join', { join_authorised_via_users_server: CAROL }),
      reject: /power to invite/,
    },
    {
      name: 'a restricted join authorised by a user who left',
      room: { joinRule: 'restricted', members: { [ERIN]: 'leave' } },
      event: member(DAVE, DAVE, 'join', { join_authorised_via_users_server: ERIN }),
      reject: /not joined/,
    },
    { name: 'an invited user joins a restricted room without an authoriser', room: { joinRule: 'restricted', members: { [DAVE]: 'invite' } }, event: member(DAVE, DAVE, 'join') },
    {
      name: 'a banned user joins a restricted room with an authoriser',
      room: { joinRule: 'restricted', members: { [DAVE]: 'ban' } },
      event: member(DAVE, DAVE, 'join', { join_authorised_via_users_server: ALICE }),
      reject: /banned/,
    },
    { name: 'a knock_restricted join authorised by a joined user', room: { joinRule: 'knock_restricted' }, event: member(DAVE, DAVE, 'join', { join_authorised_via_users_server: ALICE }) },
    { name: 'an invited user joins a knock_restricted room', room: { joinRule: 'knock_restricted', members: { [DAVE]: 'invite' } }, event: member(DAVE, DAVE, 'join') },
    { name: 'an uninvited, unauthorised join of a knock_restricted room', room: { joinRule: 'knock_restricted' }, event: member(DAVE, DAVE, 'join'), reject: /join_authorised_via_users_server/ },
    { name: 'the creator joins right after the create event', room: { onlyCreate: true }, event: member(ALICE, ALICE, 'join') },
    { name: 'someone else joins right after the create event', room: { onlyCreate: true }, event: member(DAVE, DAVE, 'join'), reject: /invite-only/ },
    { name: 'the creator joins for someone else right after the create event', room: { onlyCreate: true }, event: member(ALICE, DAVE, 'join'), reject: /themselves/ },
    { name: 'the creator rejoins an invite-only room after leaving', room: { joinRule: 'invite', members: { [ALICE]: 'leave' } }, event: member(ALICE, ALICE, 'join'), reject: /invite-only/ },
  ]);

  table('malformed membership', [
    { name: 'a member event without a membership', event: event(CAROL, 'm.room.member', {}, CAROL), reject: /membership/ },
    { name: 'a member event without a state key', event: event(CAROL, 'm.room.member', { membership: 'join' }), reject: /state key/ },
    { name: 'an unknown membership', event: member(CAROL, CAROL, 'dance'), reject: /Unknown membership/ },
  ]);

  table('invite', [
    { name: 'a level-0 member invites when invite is 0 (default)', event: member(CAROL, DAVE, 'invite') },
    { name: 'a level-0 member invites when invite is 50', room: { powerLevels: { invite: 50 } }, event: member(CAROL, DAVE, 'invite'), reject: /Inviting needs power level 50/ },
    { name: 'a moderator invites when invite is 50', room: { powerLevels: { invite: 50 } }, event: member(BOB, DAVE, 'invite') },
    { name: 'an outsider invites', event: member(DAVE, ERIN, 'invite'), reject: /not joined/ },
    { name: 'an invited user invites someone', room: { members: { [DAVE]: 'invite' } }, event: member(DAVE, ERIN, 'invite'), reject: /not joined/ },
    { name: 'inviting a joined member', event: member(ALICE, BOB, 'invite'), reject: /already in this room/ },
    { name: 'inviting a banned user', room: { members: { [DAVE]: 'ban' } }, event: member(ALICE, DAVE, 'invite'), reject: /banned/ },
    { name: 're-inviting an invited user', room: { members: { [DAVE]: 'invite' } }, event: member(CAROL, DAVE, 'invite') },
    { name: 'inviting a user who left', room: { members: { [ERIN]: 'leave' } }, event: member(CAROL, ERIN, 'invite') },
    {
      name: 'a third-party invite',
      event: member(ALICE, DAVE, 'invite', { third_party_invite: { display_name: 'd', signed: { mxid: DAVE, token: 't', signatures: {} } } }),
      reject: /Third-party invites are not supported/,
    },
  ]);

  table('leave and kick', [
    { name: 'a member leaves', event: member(CAROL, CAROL, 'leave') },
    { name: 'an invited user rejects the invite', room: { members: { [DAVE]: 'invite' } }, event: member(DAVE, DAVE, 'leave') },
    { name: 'a knocking user retracts the knock', room: { members: { [DAVE]: 'knock' } }, event: member(DAVE, DAVE, 'leave') },
    { name: 'an outsider leaves', event: member(DAVE, DAVE, 'leave'), reject: /not in this room/ },
    { name: 'a user who already left leaves again', room: { members: { [ERIN]: 'leave' } }, event: member(ERIN, ERIN, 'leave'), reject: /not in this room/ },
    { name: 'a banned user unbans themselves', room: { members: { [DAVE]: 'ban' } }, event: member(DAVE, DAVE, 'leave'), reject: /banned/ },
    { name: 'a moderator kicks a level-0 member', event: member(BOB, CAROL, 'leave') },
    { name: 'a moderator revokes an invite', room: { members: { [DAVE]: 'invite' } }, event: member(BOB, DAVE, 'leave') },
    { name: 'a level-0 member kicks a moderator', event: member(CAROL, BOB, 'leave'), reject: /Kicking needs power level 50/ },
    { name: 'a moderator kicks the creator', event: member(BOB, ALICE, 'leave'), reject: /not below their own/ },
    { name: 'a moderator kicks a peer moderator', event: member(BOB, FRANK, 'leave'), reject: /not below their own/ },
    { name: 'a level-0 member kicks another level-0 member when kick is 0', room: { powerLevels: { kick: 0 }, members: { [ERIN]: 'join' } }, event: member(CAROL, ERIN, 'leave'), reject: /not below their own/ },
    { name: 'a user who left kicks a member', room: { members: { [ERIN]: 'leave' }, powerLevels: { users: { ...DEFAULT_USERS, [ERIN]: 100 } } }, event: member(ERIN, CAROL, 'leave'), reject: /not joined/ },
    { name: 'the creator unbans a user', room: { members: { [DAVE]: 'ban' } }, event: member(ALICE, DAVE, 'leave') },
    { name: 'a moderator unbans when ban is 75 and kick is 50', room: { members: { [DAVE]: 'ban' }, powerLevels: { ban: 75 } }, event: member(BOB, DAVE, 'leave'), reject: /Unbanning needs power level 75/ },
    { name: 'a moderator unbans when ban is 50 and kick is 75', room: { members: { [DAVE]: 'ban' }, powerLevels: { kick: 75 } }, event: member(BOB, DAVE, 'leave'), reject: /Kicking needs power level 75/ },
  ]);

  table('ban', [
    { name: 'a moderator bans a level-0 member', event: member(BOB, CAROL, 'ban') },
    { name: 'a moderator bans an outsider pre-emptively', event: member(BOB, DAVE, 'ban') },
    { name: 'a moderator re-bans a banned user', room: { members: { [DAVE]: 'ban' } }, event: member(BOB, DAVE, 'ban') },
    { name: 'a level-0 member bans an outsider', event: member(CAROL, DAVE, 'ban'), reject: /Banning needs power level 50/ },
    { name: 'a moderator bans the creator', event: member(BOB, ALICE, 'ban'), reject: /not below their own/ },
    { name: 'a moderator bans a peer moderator', event: member(BOB, FRANK, 'ban'), reject: /not below their own/ },
    { name: 'a moderator bans when ban is 75', room: { powerLevels: { ban: 75 } }, event: member(BOB, CAROL, 'ban'), reject: /Banning needs power level 75/ },
    { name: 'an admin who left bans a member', room: { members: { [ERIN]: 'leave' }, powerLevels: { users: { ...DEFAULT_USERS, [ERIN]: 100 } } }, event: member(ERIN, CAROL, 'ban'), reject: /not joined/ },
  ]);

  table('knock', [
    { name: 'an outsider knocks on a knock room', room: { joinRule: 'knock' }, event: member(DAVE, DAVE, 'knock') },
    { name: 'an outsider knocks on a knock_restricted room', room: { joinRule: 'knock_restricted' }, event: member(DAVE, DAVE, 'knock') },
    { name: 'a user who left knocks again', room: { joinRule: 'knock', members: { [ERIN]: 'leave' } }, event: member(ERIN, ERIN, 'knock') },
    { name: 'an outsider knocks on a public room', room: { joinRule: 'public' }, event: member(DAVE, DAVE, 'knock'), reject: /does not accept knocks/ },
    { name: 'an outsider knocks on an invite room', room: { joinRule: 'invite' }, event: member(DAVE, DAVE, 'knock'), reject: /does not accept knocks/ },
    { name: 'an outsider knocks on a restricted room', room: { joinRule: 'restricted' }, event: member(DAVE, DAVE, 'knock'), reject: /does not accept knocks/ },
    { name: 'someone knocks for another user', room: { joinRule: 'knock' }, event: member(CAROL, DAVE, 'knock'), reject: /themselves/ },
    { name: 'a banned user knocks', room: { joinRule: 'knock', members: { [DAVE]: 'ban' } }, event: member(DAVE, DAVE, 'knock'), reject: /banned/ },
    { name: 'an invited user knocks', room: { joinRule: 'knock', members: { [DAVE]: 'invite' } }, event: member(DAVE, DAVE, 'knock'), reject: /already invited/ },
    { name: 'a member knocks', room: { joinRule: 'knock' }, event: member(CAROL, CAROL, 'knock'), reject: /already in this room/ },
  ]);

  table('messages and state events', [
    { name: 'a level-0 member sends a message', event: message(CAROL) },
    { name: 'an outsider sends a message', event: message(DAVE), reject: /not joined/ },
    { name: 'an invited user sends a message', room: { members: { [DAVE]: 'invite' } }, event: message(DAVE), reject: /not joined/ },
    { name: 'a banned user sends a message', room: { members: { [DAVE]: 'ban' } }, event: message(DAVE), reject: /not joined/ },
    { name: 'a level-0 member sends a message when events_default is 10', room: { powerLevels: { events_default: 10 } }, event: message(CAROL), reject: /needs power level 10; @carol:hs.test has 0/ },
    { name: 'a moderator sends a message when events_default is 10', room: { powerLevels: { events_default: 10 } }, event: message(BOB) },
    { name: 'a level-0 member sends a message type raised to 20', room: { powerLevels: { events: { 'm.room.message': 20 } } }, event: message(CAROL), reject: /needs power level 20/ },
    { name: 'a level-0 member sends another message type when one is raised', room: { powerLevels: { events: { 'm.room.message': 20 } } }, event: message(CAROL, 'm.reaction') },
    { name: 'users_default lets unlisted members send', room: { powerLevels: { users_default: 10, events_default: 10 } }, event: message(CAROL) },
    { name: 'a level-0 member sets the topic (state_default 50)', event: stateEvent(CAROL, 'm.room.topic', '', { topic: 't' }), reject: /needs power level 50/ },
    { name: 'a moderator sets the topic', event: stateEvent(BOB, 'm.room.topic', '', { topic: 't' }) },
    { name: 'a level-0 member sets the topic when it is lowered to 0', room: { powerLevels: { events: { 'm.room.topic': 0 } } }, event: stateEvent(CAROL, 'm.room.topic', '', { topic: 't' }) },
    { name: 'a moderator renames when m.room.name needs 100', room: { powerLevels: { events: { 'm.room.name': 100 } } }, event: stateEvent(BOB, 'm.room.name', '', { name: 'n' }), reject: /needs power level 100/ },
    { name: 'a moderator sends state when state_default is 60', room: { powerLevels: { state_default: 60 } }, event: stateEvent(BOB, 'm.room.topic'), reject: /needs power level 60/ },
    { name: 'a member sends state keyed by their own user ID', room: { powerLevels: { state_default: 0 } }, event: stateEvent(CAROL, 'org.example.status', CAROL) },
    { name: 'a member sends state keyed by another user ID', room: { powerLevels: { state_default: 0 } }, event: stateEvent(CAROL, 'org.example.status', BOB), reject: /Only @bob:hs.test may send/ },
    { name: 'the creator sends state keyed by another user ID', event: stateEvent(ALICE, 'org.example.status', BOB), reject: /Only @bob:hs.test/ },
    { name: 'a level-0 member sends a redaction', event: event(CAROL, 'm.room.redaction', { redacts: '$x' }) },
    { name: 'a level-0 member sends a redaction when redactions need 50', room: { powerLevels: { events: { 'm.room.redaction': 50 } } }, event: event(CAROL, 'm.room.redaction', { redacts: '$x' }), reject: /needs power level 50/ },
    { name: 'a level-0 member sends a redaction when redact is 100 (checked by the caller)', room: { powerLevels: { redact: 100 } }, event: event(CAROL, 'm.room.redaction', { redacts: '$x' }) },
    { name: 'a level-0 member sends m.room.third_party_invite at invite 0', event: stateEvent(CAROL, 'm.room.third_party_invite', 'tok', {}) },
    { name: 'a level-0 member sends m.room.third_party_invite at invite 50', room: { powerLevels: { invite: 50 } }, event: stateEvent(CAROL, 'm.room.third_party_invite', 'tok', {}), reject: /needs power level 50/ },
    { name: 'with no power levels, the creator sets the topic', room: { powerLevels: null }, event: stateEvent(ALICE, 'm.room.topic') },
    { name: 'with no power levels, another member sets the topic', room: { powerLevels: null }, event: stateEvent(CAROL, 'm.room.topic'), reject: /needs power level 50; @carol:hs.test has 0/ },
    { name: 'with no power levels, another member sends a message', room: { powerLevels: null }, event: message(CAROL) },
    { name: 'an event for another room', event: { ...message(ALICE), room_id: '!other:hs.test' }, reject: /belongs to !other:hs.test/ },
    {
      name: 'a remote user in an m.federate=false room',
      room: { createContent: { room_version: '11', creator: ALICE, 'm.federate': false }, members: { '@zed:other.test': 'join' } },
      event: message('@zed:other.test'),
      reject: /m.federate/,
    },
    {
      name: 'a local user in an m.federate=false room',
      room: { createContent: { room_version: '11', creator: ALICE, 'm.federate': false } },
      event: message(CAROL),
    },
  ]);

  table('power levels changes', [
    { name: 'the creator raises the ban level', event: powerLevels(ALICE, { users: DEFAULT_USERS, ban: 75 }) },
    { name: 'a level-0 member sends power levels', event: powerLevels(CAROL, { users: DEFAULT_USERS }), reject: /needs power level 50/ },
    { name: 'a moderator raises a member to their own level', event: powerLevels(BOB, { users: { ...DEFAULT_USERS, [CAROL]: 50 } }) },
    { name: 'a moderator raises a member above themselves', event: powerLevels(BOB, { users: { ...DEFAULT_USERS, [CAROL]: 60 } }), reject: /Cannot give @carol:hs.test power level 60/ },
    { name: 'a moderator demotes a peer moderator', event: powerLevels(BOB, { users: { ...DEFAULT_USERS, [FRANK]: 0 } }), reject: /Cannot change the power level of @frank:hs.test/ },
    { name: 'a moderator removes a peer moderator', event: powerLevels(BOB, { users: { [ALICE]: 100, [BOB]: 50 } }), reject: /@frank:hs.test/ },
    { name: 'a moderator demotes the creator', event: powerLevels(BOB, { users: { ...DEFAULT_USERS, [ALICE]: 0 } }), reject: /@alice:hs.test/ },
    { name: 'a moderator demotes themselves', event: powerLevels(BOB, { users: { ...DEFAULT_USERS, [BOB]: 10 } }) },
    { name: 'a moderator removes their own entry', event: powerLevels(BOB, { users: { [ALICE]: 100, [FRANK]: 50 } }) },
    { name: 'a moderator promotes themselves', event: powerLevels(BOB, { users: { ...DEFAULT_USERS, [BOB]: 60 } }), reject: /above your own/ },
    { name: 'a moderator demotes a lower member, leaving higher entries unchanged', room: { powerLevels: { users: { ...DEFAULT_USERS, [CAROL]: 20 } } }, event: powerLevels(BOB, { users: DEFAULT_USERS }) },
    { name: 'the creator demotes a moderator', event: powerLevels(ALICE, { users: { ...DEFAULT_USERS, [BOB]: 0 } }) },
    { name: 'a moderator lowers kick from 50 to 40', event: powerLevels(BOB, { users: DEFAULT_USERS, kick: 40 }) },
    { name: 'a moderator lowers ban from 75', room: { powerLevels: { ban: 75 } }, event: powerLevels(BOB, { users: DEFAULT_USERS, ban: 50 }), reject: /Cannot change ban: its current level 75/ },
    { name: 'a moderator removes a ban level of 75', room: { powerLevels: { ban: 75 } }, event: powerLevels(BOB, { users: DEFAULT_USERS }), reject: /Cannot change ban/ },
    { name: 'a moderator raises state_default above themselves', event: powerLevels(BOB, { users: DEFAULT_USERS, state_default: 60 }), reject: /Cannot set state_default to 60/ },
    { name: 'a moderator raises users_default above themselves', event: powerLevels(BOB, { users: DEFAULT_USERS, users_default: 51 }), reject: /users_default/ },
    { name: 'a moderator sets an event type to their own level', event: powerLevels(BOB, { users: DEFAULT_USERS, events: { 'm.room.name': 50 } }) },
    { name: 'a moderator sets an event type above themselves', event: powerLevels(BOB, { users: DEFAULT_USERS, events: { 'm.room.name': 100 } }), reject: /Cannot set events.m.room.name to 100/ },
    {
      name: 'a moderator removes an event type that needs 100',
      room: { powerLevels: { events: { 'm.room.tombstone': 100 } } },
      event: powerLevels(BOB, { users: DEFAULT_USERS, events: {} }),
      reject: /Cannot change events.m.room.tombstone/,
    },
    {
      name: 'a moderator keeps an event type that needs 100 while changing another',
      room: { powerLevels: { events: { 'm.room.tombstone': 100 } } },
      event: powerLevels(BOB, { users: DEFAULT_USERS, events: { 'm.room.tombstone': 100, 'm.room.topic': 0 } }),
    },
    { name: 'a moderator lowers the room notification level', room: { powerLevels: { notifications: { room: 50 } } }, event: powerLevels(BOB, { users: DEFAULT_USERS, notifications: { room: 0 } }) },
    { name: 'a moderator changes a notification level of 100', room: { powerLevels: { notifications: { room: 100 } } }, event: powerLevels(BOB, { users: DEFAULT_USERS, notifications: { room: 0 } }), reject: /notifications.room/ },
    { name: 'the creator sets up the first power levels freely', room: { powerLevels: null }, event: powerLevels(ALICE, { users: { [ALICE]: 100, [BOB]: 150 } }) },
    { name: 'another member sets up the first power levels', room: { powerLevels: null }, event: powerLevels(CAROL, { users: { [CAROL]: 100 } }), reject: /needs power level 50/ },
    { name: 'power levels with a user state key', event: event(ALICE, 'm.room.power_levels', { users: DEFAULT_USERS }, BOB), reject: /Only @bob:hs.test/ },
  ]);

  table('power levels must be integers', [
    { name: 'ban as a string', event: powerLevels(ALICE, { users: DEFAULT_USERS, ban: '50' }), reject: /ban must be an integer/ },
    { name: 'kick as a float', event: powerLevels(ALICE, { users: DEFAULT_USERS, kick: 50.5 }), reject: /kick must be an integer/ },
    { name: 'invite as null', event: powerLevels(ALICE, { users: DEFAULT_USERS, invite: null }), reject: /invite must be an integer/ },
    { name: 'state_default beyond the canonical JSON range', event: powerLevels(ALICE, { users: DEFAULT_USERS, state_default: 2 ** 53 }), reject: /state_default must be an integer/ },
    { name: 'a user level as a string', event: powerLevels(ALICE, { users: { ...DEFAULT_USERS, [CAROL]: '10' } }), reject: /@carol:hs.test must be an integer/ },
    { name: 'an event level as a string', event: powerLevels(ALICE, { users: DEFAULT_USERS, events: { 'm.room.name': '50' } }), reject: /events.m.room.name must be an integer/ },
    { name: 'a notification level as a string', event: powerLevels(ALICE, { users: DEFAULT_USERS, notifications: { room: '50' } }), reject: /notifications.room must be an integer/ },
    { name: 'events as an array', event: powerLevels(ALICE, { users: DEFAULT_USERS, events: [] }), reject: /events must be an object/ },
    { name: 'users as an array', event: powerLevels(ALICE, { users: [ALICE] }), reject: /users must be an object/ },
    { name: 'users keyed by a non-user ID', event: powerLevels(ALICE, { users: { ...DEFAULT_USERS, bob: 10 } }), reject: /invalid user ID/ },
    { name: 'negative integers are fine', event: powerLevels(ALICE, { users: { ...DEFAULT_USERS, [CAROL]: -5 }, events_default: -1 }) },
  ]);

  describe('m.room.create', () => {
    const create = (content: Record<string, unknown>, sender = ALICE, roomId = ROOM): AuthEvent => ({
      ...event(sender, 'm.room.create', content, ''),
      room_id: roomId,
    });
    const cases: Array<{ name: string; version: RoomVersion; event: AuthEvent; state?: AuthState; reject?: RegExp }> = [
      { name: 'a v11 create without creator', version: '11', event: create({ room_version: '11' }) },
      { name: 'a v11 create with a stray creator', version: '11', event: create({ room_version: '11', creator: BOB }) },
      { name: 'a v10 create naming the creator', version: '10', event: create({ room_version: '10', creator: ALICE }) },
      { name: 'a v10 create without creator', version: '10', event: create({ room_version: '10' }), reject: /content.creator/ },
      { name: 'a create declaring another version', version: '11', event: create({ room_version: '10', creator: ALICE }), reject: /declares room version "10"/ },
      { name: 'a create without room_version (version 1)', version: '11', event: create({}), reject: /declares room version "1"/ },
      { name: 'a create with an unknown room version', version: '10', event: create({ room_version: 'x', creator: ALICE }), reject: /"x"/ },
      { name: 'a create with a numeric room version', version: '11', event: create({ room_version: 11 }), reject: /declares room version 11,/ },
      { name: 'a create from another server', version: '11', event: create({ room_version: '11' }, '@alice:other.test'), reject: /same server/ },
      { name: 'a create with a room ID without server', version: '11', event: create({ room_version: '11' }, ALICE, '!room'), reject: /same server/ },
      { name: 'a create without state key', version: '11', event: { ...create({ room_version: '11' }), state_key: undefined }, reject: /empty state key/ },
      { name: 'a second create', version: '11', event: create({ room_version: '11' }), state: room('11', { onlyCreate: true }), reject: /first event/ },
      { name: 'a create after other state', version: '10', event: create({ room_version: '10', creator: ALICE }), state: room('10'), reject: /first event/ },
    ];
    for (const c of cases) {
      it(`[v${c.version}] ${c.name}${c.reject ? ' → rejected' : ' → allowed'}`, () => {
        expectOutcome(c.event, c.state ?? new Map(), c.version, c.reject);
      });
    }

    it('rejects events in a room without a create event', () => {
      const state = room('11');
      state.delete(stateKey('m.room.create', ''));
      expectOutcome(message(ALICE), state, '11', /no m.room.create/);
    });

    it('rejects an unsupported room version at runtime', () => {
      expectOutcome(message(ALICE), room('11'), '9' as RoomVersion, /Room version 9 is not supported/);
    });
  });

  describe('who the creator is', () => {
    // v10 names the creator in content (it may differ from the sender); v11 only looks at the sender.
    const v10 = { createSender: ALICE, createContent: { room_version: '10', creator: BOB } };
    const v11 = { createSender: ALICE, createContent: { room_version: '11', creator: BOB } };
    it('[v10] content.creator may join first', () => {
      expectOutcome(member(BOB, BOB, 'join'), room('10', { ...v10, onlyCreate: true }), '10', undefined);
    });
    it('[v10] the create sender who is not content.creator may not join first', () => {
      expectOutcome(member(ALICE, ALICE, 'join'), room('10', { ...v10, onlyCreate: true }), '10', /invite-only/);
    });
    it('[v11] the create sender may join first despite a stray content.creator', () => {
      expectOutcome(member(ALICE, ALICE, 'join'), room('11', { ...v11, onlyCreate: true }), '11', undefined);
    });
    it('[v11] a stray content.creator may not join first', () => {
      expectOutcome(member(BOB, BOB, 'join'), room('11', { ...v11, onlyCreate: true }), '11', /invite-only/);
    });
    it('without power levels the creator has 100 and others 0', () => {
      assert.equal(userPowerLevel(room('10', { ...v10, powerLevels: null }), BOB), 100);
      assert.equal(userPowerLevel(room('10', { ...v10, powerLevels: null }), ALICE), 0);
      assert.equal(userPowerLevel(room('11', { ...v11, powerLevels: null }), ALICE), 100);
      assert.equal(userPowerLevel(room('11', { ...v11, powerLevels: null }), BOB), 0);
    });
  });

  describe('power level helpers', () => {
    it('userPowerLevel reads users, then users_default', () => {
      const state = room('11', { powerLevels: { users_default: 7 } });
      assert.equal(userPowerLevel(state, ALICE), 100);
      assert.equal(userPowerLevel(state, BOB), 50);
      assert.equal(userPowerLevel(state, CAROL), 7);
      assert.equal(userPowerLevel(room('11'), CAROL), 0);
    });
    it('once power levels exist the creator has no implicit 100', () => {
      assert.equal(userPowerLevel(room('11', { powerLevels: { users: {} } }), ALICE), 0);
    });
    it('requiredPowerLevel uses events, then state_default or events_default', () => {
      const state = room('11', { powerLevels: { state_default: 40, events_default: 5, events: { 'm.room.name': 70, 'm.sticker': 3 } } });
      assert.equal(requiredPowerLevel(state, 'm.room.name', true), 70);
      assert.equal(requiredPowerLevel(state, 'm.sticker', false), 3);
      assert.equal(requiredPowerLevel(state, 'm.room.topic', true), 40);
      assert.equal(requiredPowerLevel(state, 'm.room.message', false), 5);
    });
    it('requiredPowerLevel defaults to 50 for state and 0 for messages', () => {
      for (const state of [room('11'), room('11', { powerLevels: null })]) {
        assert.equal(requiredPowerLevel(state, 'm.room.topic', true), 50);
        assert.equal(requiredPowerLevel(state, 'm.room.message', false), 0);
      }
    });
    it('powerLevelFor defaults invite to 0 and kick, ban, redact to 50', () => {
      for (const state of [room('10'), room('10', { powerLevels: null })]) {
        assert.deepEqual(
          [powerLevelFor(state, 'invite'), powerLevelFor(state, 'kick'), powerLevelFor(state, 'ban'), powerLevelFor(state, 'redact')],
          [0, 50, 50, 50],
        );
      }
      const state = room('10', { powerLevels: { invite: 10, kick: 20, ban: 30, redact: 40 } });
      assert.deepEqual(
        [powerLevelFor(state, 'invite'), powerLevelFor(state, 'kick'), powerLevelFor(state, 'ban'), powerLevelFor(state, 'redact')],
        [10, 20, 30, 40],
      );
    });
  });

  describe('authStateKeysFor', () => {
    const base = [stateKey('m.room.create', ''), stateKey('m.room.power_levels', '')];
    const keys = (e: AuthEvent): string[] => authStateKeysFor(e).sort();
    it('a message needs the create, power levels and the sender membership', () => {
      assert.deepEqual(keys(message(CAROL)), [...base, stateKey('m.room.member', CAROL)].sort());
    });
    it('a create needs only an existing create (to reject a second one)', () => {
      assert.deepEqual(keys(stateEvent(ALICE, 'm.room.create', '', { room_version: '11' })), [stateKey('m.room.create', '')]);
    });
    it('a self-join needs the join rules once, without duplicates', () => {
      assert.deepEqual(keys(member(DAVE, DAVE, 'join')), [...base, stateKey('m.room.member', DAVE), stateKey('m.room.join_rules', '')].sort());
    });
    it('a restricted join also needs the authorising user', () => {
      assert.deepEqual(
        keys(member(DAVE, DAVE, 'join', { join_authorised_via_users_server: BOB })),
        [...base, stateKey('m.room.member', DAVE), stateKey('m.room.join_rules', ''), stateKey('m.room.member', BOB)].sort(),
      );
    });
    it('an invite needs both memberships and the join rules', () => {
      assert.deepEqual(
        keys(member(CAROL, DAVE, 'invite')),
        [...base, stateKey('m.room.member', CAROL), stateKey('m.room.member', DAVE), stateKey('m.room.join_rules', '')].sort(),
      );
    });
    it('a kick needs both memberships but not the join rules', () => {
      assert.deepEqual(keys(member(BOB, CAROL, 'leave')), [...base, stateKey('m.room.member', BOB), stateKey('m.room.member', CAROL)].sort());
    });
    it('the selected state is enough to decide', () => {
      // Deciding on the selected entries alone gives the same answer as the full state.
      const full = room('11', { joinRule: 'restricted', members: { [ERIN]: 'join' } });
      const e = member(DAVE, DAVE, 'join', { join_authorised_via_users_server: BOB });
      const selected: AuthState = new Map();
      for (const k of authStateKeysFor(e)) {
        const found = full.get(k);
        if (found) selected.set(k, found);
      }
      checkEventAuth(e, selected, '11');
      const creatorJoin = member(ALICE, ALICE, 'join');
      const fresh = room('11', { onlyCreate: true });
      const freshSelected = new Map([...fresh].filter(([k]) => authStateKeysFor(creatorJoin).includes(k)));
      checkEventAuth(creatorJoin, freshSelected, '11');
    });
  });
});
