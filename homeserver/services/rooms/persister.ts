/**
 * The one writer of room events. It checks the auth rules against the current state, links
 * the event after the room's newest one (the room graph is a line), derives its id, and
 * stores it, its state and a notification that other processes receive on commit, in the
 * statement that allocates its stream position (which locks the events stream until commit:
 * positions commit in order). Local long-polls are woken right after the commit.
 *
 * Ordinary events (messages, reactions: no state, no redaction) are stored in that one
 * statement and no transaction, after the room's newest event as this process last saw it;
 * a room's writers in this process take turns. If another process wrote the room since, the
 * room's unique (room, depth) index refuses the event and it goes the other way: a
 * transaction that locks the room and reads it first, as every other event does.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '../../errors.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as eventTxns from '../../storage/eventTxns.ts';
import { isUniqueViolation } from '../../storage/results.ts';
import * as roomState from '../../storage/roomState.ts';
import { CHANGES_CHANNEL, type Notice, type Notifier } from '../sync/notifier.ts';
import { authStateKeysFor, checkEventAuth, stateKey as authKey, toAuthState, type AuthEvent, type AuthState, type RoomVersion } from './authRules.ts';
import { checkEventSize, eventIdFor, redactEvent, withHashes } from './eventFormat.ts';
import { KeyedTurns } from './keyedTurns.ts';
import { advance, redacted, type RoomStateCache, type RoomStateSnapshot } from './stateCache.ts';

export interface EventDraft {
  roomId: string;
  sender: string;
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
  /** Redactions: the event redacted (kept in content for v11, top level for v10). */
  redacts?: string;
  txn?: { deviceId: string; txnId: string };
}

export interface PersistedEvent {
  eventId: string;
  position: number;
  /** True when a retried transaction id returned the earlier event. */
  duplicate: boolean;
}

/** The m.relates_to of an event, as the columns /relations and bundling read. */
export function relationOf(content: Record<string, unknown>): { relates_to: string | null; rel_type: string | null; aggregation_key: string | null } {
  const rel = content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown; key?: unknown } | undefined;
  if (!rel || typeof rel !== 'object' || typeof rel.event_id !== 'string' || typeof rel.rel_type !== 'string') {
    return { relates_to: null, rel_type: null, aggregation_key: null };
  }
  return { relates_to: rel.event_id, rel_type: rel.rel_type, aggregation_key: typeof rel.key === 'string' ? rel.key : null };
}

export function newRoomId(serverName: string): string {
  return `!${randomBytes(12).toString('base64url')}:${serverName}`;
}

/** What a stored-event hook writes once the event's position is known. */
export interface StoredEventWrites {
  /** Rows stored in the statement that takes the position: no round trip of their own. */
  rows?: events.PositionedRows;
  /**
   * Told just before the statement that stores the event runs: it may fail, or its
   * transaction roll back, and when it commits, its notice may be heard before its answer.
   */
  writing?: () => void;
  /**
   * Writes that need statements of their own, after the position is taken: only for rare
   * events, since the events stream stays locked for every sender meanwhile.
   */
  atPosition?: (trx: Queryable, position: number) => Promise<void>;
}

/**
 * Work for the event's own transaction (e.g. push-rule evaluation): reads and decides before
 * the stream position is taken, returns the writes to do once it is known. `state` is the
 * room's state before the event. For an ordinary event stored alone, `trx` is the database
 * itself and its reads commit at once: such a hook writes only through what it returns.
 */
export type StoredEventHook = (trx: Queryable, pdu: events.Pdu, state: RoomStateSnapshot) => Promise<StoredEventWrites | undefined>;

/** Where the room stands while its events are worked out: its newest event and its state. */
interface RoomCursor {
  state: RoomStateSnapshot;
}

/** How often a transaction is tried again after another process wrote the room first. */
const MAX_ATTEMPTS = 5;

/** An event worked out under the room lock, waiting for its stream position. */
interface PreparedEvent {
  draft: EventDraft;
  pdu: events.Pdu;
  version: RoomVersion;
  membership: string | null;
  replaces: string | null;
  writes: StoredEventWrites[];
}
/** Checks run under the events lock before storing (rules that races could otherwise break). */
export type DraftCheck = (trx: Queryable, draft: EventDraft) => Promise<void>;

/**
 * Events that must be stored just before a draft, in its transaction and under its room lock
 * (e.g. a user's call state ended before their leave). They are not expanded again, and the
 * caller's results list only its own drafts.
 */
export type DraftPrecursors = (trx: Queryable, draft: EventDraft) => Promise<EventDraft[]>;

export class EventPersister {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly states: RoomStateCache;
  private readonly hooks: StoredEventHook[] = [];
  private readonly checks: DraftCheck[] = [];
  private readonly precursors: DraftPrecursors[] = [];
  private readonly writeWatchers: Array<(row: events.NewEventRow) => void> = [];
  private readonly lockRooms: boolean;
  /** A room's version never changes: read once per room. */
  private readonly versions = new Map<string, RoomVersion>();
  /** A room's writers in this process, one at a time. */
  private readonly turns = new KeyedTurns();

  /**
   * `oneConnection`: the database has a single connection (PGlite), so its transactions never
   * overlap and a room needs no lock of its own.
   */
  constructor(db: Db, notifier: Notifier, states: RoomStateCache, opts: { oneConnection: boolean }) {
    this.db = db;
    this.notifier = notifier;
    this.states = states;
    this.lockRooms = !opts.oneConnection;
  }

  /** Registers work for the stored event's transaction (wired in main.ts). */
  onStored(hook: StoredEventHook): void {
    this.hooks.push(hook);
  }

  /** Registers a check for each draft, run under the lock before it is stored. */
  check(check: DraftCheck): void {
    this.checks.push(check);
  }

  /**
   * Registers a watcher of each row about to be written, before its position is taken and it
   * commits (which it may not): what it keeps must wait for the commit's notice, which names
   * the event and may be heard before the write is answered.
   */
  onWrite(watcher: (row: events.NewEventRow) => void): void {
    this.writeWatchers.push(watcher);
  }

  /** Registers events to store before certain drafts (wired in main.ts). */
  precede(precursors: DraftPrecursors): void {
    this.precursors.push(precursors);
  }

  /**
   * Persists the drafts (all of one room) in order: one ordinary event alone in one statement
   * when the room is cached here, anything else in one transaction (`newRoom` created first).
   * The room is locked while each event is worked out (state, auth, hashes, push rules); the
   * events stream position is taken last, so the stream — which every room shares — stays
   * locked only for the writes.
   */
  async persist(drafts: EventDraft[], newRoom?: roomState.RoomRow): Promise<PersistedEvent[]> {
    const roomId = drafts[0].roomId;
    if (drafts.some((d) => d.roomId !== roomId)) throw new Error('persist: drafts of several rooms');
    return this.turns.run(roomId, async () => {
      const alone = !newRoom && drafts.length === 1 && isOrdinary(drafts[0]) ? await this.persistAlone(drafts[0]) : undefined;
      return alone ? [alone] : this.persistInTransaction(drafts, newRoom);
    });
  }

  /**
   * An ordinary event, in one statement after the room's newest event as this process last
   * saw it: the events stream stays locked only while that statement runs, not across a round
   * trip to commit. Undefined when it cannot go so (the room is not cached here, the event
   * needs more writes, or its checks refused it) or when the statement was refused: another
   * process wrote the room since (the depth is taken) or the transaction id was used before.
   * The caller then takes the transaction path, which reads the room (and the transaction
   * id) first.
   */
  private async persistAlone(draft: EventDraft): Promise<PersistedEvent | undefined> {
    const known = this.states.latest(draft.roomId);
    if (!known?.head) return undefined;
    const version = await this.versionOf(this.db, draft.roomId);
    for (const make of this.precursors) if ((await make(this.db, draft)).length) return undefined;
    const room: RoomCursor = { state: known };
    // A refusal may come of state another process has changed since: only the transaction
    // path, which reads the room, refuses.
    const prepared = await this.prepare(this.db, draft, version, room).catch(() => undefined);
    if (!prepared || prepared.writes.some((w) => w.atPosition)) return undefined;
    let notice: Notice & { position: number };
    try {
      notice = await this.write(this.db, prepared, room);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      this.states.forget(draft.roomId);
      return undefined;
    }
    this.states.committed(draft.roomId, room.state);
    await this.notifier.onChanges([notice]);
    return { eventId: prepared.pdu.event_id, position: notice.position, duplicate: false };
  }

  /** The transaction path, tried again while other processes keep writing the room first. */
  private async persistInTransaction(drafts: EventDraft[], newRoom?: roomState.RoomRow): Promise<PersistedEvent[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.persistOnce(drafts, newRoom);
      } catch (err) {
        // A new room's id is new: a refusal there is no race to retry.
        if (!isUniqueViolation(err) || newRoom || attempt >= MAX_ATTEMPTS) throw err;
        this.states.forget(drafts[0].roomId);
      }
    }
  }

  private async persistOnce(drafts: EventDraft[], newRoom?: roomState.RoomRow): Promise<PersistedEvent[]> {
    const notices: Notice[] = [];
    const roomId = drafts[0].roomId;
    let stateAfter: RoomStateSnapshot | undefined;
    const results = await this.db.transaction(async (trx) => {
      const out: PersistedEvent[] = [];
      if (this.lockRooms) await roomState.lockRoom(trx, roomId);
      if (newRoom) await roomState.insertRoom(trx, newRoom);
      // The first draft's transaction id is looked up with the room's newest event.
      const firstTxn = drafts[0].txn && { userId: drafts[0].sender, ...drafts[0].txn };
      const head = newRoom ? {} : await events.roomHead(trx, roomId, firstTxn);
      const room: RoomCursor = {
        state: newRoom ? { position: 0, head: undefined, events: new Map() } : await this.states.current(trx, roomId, head.latest),
      };
      for (const [i, draft] of drafts.entries()) {
        if (draft.txn) {
          const existing = i === 0 && !newRoom ? head.txnEventId : await eventTxns.findTxn(trx, draft.sender, draft.txn.deviceId, draft.txn.txnId);
          if (existing) {
            out.push({ eventId: existing, position: 0, duplicate: true });
            continue;
          }
        }
        const version = newRoom ? (newRoom.room_version as RoomVersion) : await this.versionOf(trx, draft.roomId);
        for (const make of this.precursors) {
          for (const before of await make(trx, draft)) {
            if (before.roomId !== draft.roomId) throw new Error('persist: a precursor of another room');
            const p = await this.prepare(trx, before, version, room);
            notices.push(await this.write(trx, p, room));
          }
        }
        const prepared = await this.prepare(trx, draft, version, room);
        const notice = await this.write(trx, prepared, room);
        notices.push(notice);
        out.push({ eventId: prepared.pdu.event_id, position: notice.position, duplicate: false });
      }
      stateAfter = room.state;
      return out;
    });
    if (stateAfter) this.states.committed(roomId, stateAfter);
    await this.notifier.onChanges(notices);
    return results;
  }

  private async versionOf(trx: Queryable, roomId: string): Promise<RoomVersion> {
    let version = this.versions.get(roomId);
    if (!version) {
      const room = await roomState.getRoom(trx, roomId);
      if (!room) throw errors.notFound('Unknown room.');
      version = room.room_version as RoomVersion;
      this.versions.set(roomId, version);
    }
    return version;
  }

  /** Builds the event after the room's newest one and checks it, without writing. */
  private async prepare(trx: Queryable, draft: EventDraft, version: RoomVersion, room: RoomCursor): Promise<PreparedEvent> {
    const state = authState(draft, room.state);
    for (const check of this.checks) await check(trx, draft);
    const latest = room.state.head;
    const content = draft.type === 'm.room.redaction' && version === '11' && draft.redacts ? { ...draft.content, redacts: draft.redacts } : draft.content;
    const body: events.PduBody = {
      room_id: draft.roomId,
      sender: draft.sender,
      type: draft.type,
      content,
      origin_server_ts: Date.now(),
      depth: latest ? latest.depth + 1 : 1,
      prev_events: latest ? [latest.event_id] : [],
      auth_events: [...state.values()].map((e) => e.event_id),
    };
    if (draft.stateKey !== undefined) body.state_key = draft.stateKey;
    if (draft.type === 'm.room.redaction' && version === '10' && draft.redacts) body.redacts = draft.redacts;
    const hashed = withHashes(body);
    const pdu = { ...hashed, signatures: {}, event_id: eventIdFor(hashed, version) } as events.Pdu;
    checkEventSize(pdu);
    checkEventAuth(pdu as AuthEvent, state, version);
    const replaces = draft.stateKey !== undefined ? room.state.events.get(authKey(draft.type, draft.stateKey))?.event_id : undefined;
    const writes: PreparedEvent['writes'] = [];
    for (const hook of this.hooks) {
      const w = await hook(trx, pdu, room.state);
      if (w) writes.push(w);
    }
    const membership = draft.type === 'm.room.member' ? String(draft.content.membership) : null;
    return { draft, pdu, version, membership, replaces: replaces ?? null, writes };
  }

  /** Stores a prepared event at the next position, with its state, transaction id and hook writes. */
  private async write(trx: Queryable, p: PreparedEvent, room: RoomCursor): Promise<Notice & { position: number }> {
    const { draft, pdu, membership } = p;
    const stored: events.NewEventRow = {
      event_id: pdu.event_id,
      room_id: draft.roomId,
      type: draft.type,
      state_key: draft.stateKey ?? null,
      sender: draft.sender,
      origin_server_ts: pdu.origin_server_ts,
      depth: pdu.depth,
      json: pdu,
      txn_device_id: draft.txn?.deviceId ?? null,
      txn_id: draft.txn?.txnId ?? null,
      membership,
      replaces_state: p.replaces,
      ...relationOf(draft.content),
    };
    const touches = (draft.type === 'm.room.redaction' ? draft.redacts : undefined) ?? stored.relates_to ?? undefined;
    const notice: Omit<Notice, 'position'> = { stream: 'events', roomId: draft.roomId, type: draft.type, stateKey: draft.stateKey, membership: membership ?? undefined, touches, eventId: pdu.event_id };
    for (const w of p.writes) w.writing?.();
    for (const watch of this.writeWatchers) watch(stored);
    const position = await events.insertNextEvent(trx, stored, {
      txn: draft.txn && { userId: draft.sender, ...draft.txn },
      rows: p.writes.flatMap((w) => (w.rows ? [w.rows] : [])),
      notify: { channel: CHANGES_CHANNEL, around: this.notifier.encodeAround(notice) },
      roomShared: this.lockRooms,
    });
    const row: events.EventRow = { ...stored, stream_ordering: position, redacted_by: null };
    if (draft.stateKey !== undefined) {
      await roomState.setCurrentState(trx, {
        room_id: draft.roomId, type: draft.type, state_key: draft.stateKey, event_id: pdu.event_id, stream_ordering: position, membership,
      });
    }
    room.state = advance(room.state, pdu, position);
    if (draft.type === 'm.room.redaction' && draft.redacts) {
      const target = await this.applyRedaction(trx, draft.redacts, pdu.event_id, p.version);
      if (target) room.state = redacted(room.state, target);
    }
    for (const w of p.writes) await w.atPosition?.(trx, position);
    return { ...notice, position, row };
  }

  /** The redacted event keeps only what the redaction algorithm keeps, for every reader. */
  private async applyRedaction(trx: Queryable, targetId: string, redactionId: string, version: RoomVersion): Promise<events.Pdu | undefined> {
    const target = await events.getEvent(trx, targetId);
    if (!target || target.redacted_by) return undefined;
    const pdu = redactEvent(target.json as unknown as events.PduBody, version) as unknown as events.Pdu;
    await events.setRedacted(trx, targetId, redactionId, pdu);
    return pdu;
  }
}

/** Neither state nor a redaction: an event that changes nothing but the timeline. */
function isOrdinary(draft: EventDraft): boolean {
  return draft.stateKey === undefined && draft.type !== 'm.room.redaction';
}

/** The current state entries the auth rules need for this draft. */
function authState(draft: EventDraft, state: RoomStateSnapshot): AuthState {
  const keys = authStateKeysFor({ room_id: draft.roomId, sender: draft.sender, type: draft.type, state_key: draft.stateKey, content: draft.content });
  const entries: AuthEvent[] = [];
  for (const key of keys) {
    const e = state.events.get(key);
    if (e) entries.push(e as unknown as AuthEvent);
  }
  return toAuthState(entries);
}
