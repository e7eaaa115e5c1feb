/**
 * Push rules per user (read and changed through /pushrules, mirrored into the m.push_rules
 * account data that sync delivers), their evaluation for every recipient when an event is
 * stored, and what that gives: unread counts per room and thread, and /notifications.
 */
import type { Db, Queryable } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as push from '../../storage/push.ts';
import * as receipts from '../../storage/receipts.ts';
import type { CacheBus, InvalidatedCache } from '../caches.ts';
import { stateKey as authKey, userPowerLevel, type AuthState } from '../rooms/authRules.ts';
import { membersOf, type RoomStateSnapshot } from '../rooms/stateCache.ts';
import type { StoredEventWrites } from '../rooms/persister.ts';
import { toClientEvents, type Viewer } from '../rooms/clientEvents.ts';
import type { AccountDataService } from '../streams/accountData.ts';
import type { BlockLists } from '../friends/blockLists.ts';
import { EventMatcher, evaluatePushRules } from './evaluate.ts';
import { buildPushRules, type PushRulesJson, type UserPushRules } from './ruleset.ts';
import type { UnreadCountCache, UnreadCounts } from './unreadCache.ts';
import type { HeardEvents } from '../sync/heardEvents.ts';

export type { UnreadCounts };

export class PushService {
  private readonly db: Db;
  private readonly accountData: AccountDataService;
  /** Each user's rule set, built: every event is evaluated against every member's. */
  private readonly cache: InvalidatedCache<PushRulesJson>;
  private readonly bus: CacheBus;
  private readonly blocks: BlockLists;
  private readonly unread: UnreadCountCache;
  private readonly heard: HeardEvents;

  constructor(deps: {
    db: Db; accountData: AccountDataService; blocks: BlockLists; heard: HeardEvents;
    caches: { bus: CacheBus; rules: InvalidatedCache<PushRulesJson>; unread: UnreadCountCache };
  }) {
    this.db = deps.db;
    this.accountData = deps.accountData;
    this.blocks = deps.blocks;
    this.heard = deps.heard;
    this.unread = deps.caches.unread;
    this.cache = deps.caches.rules;
    this.bus = deps.caches.bus;
  }

  async rules(userId: string): Promise<PushRulesJson> {
    return (await this.rulesOf(this.db, [userId])).get(userId)!;
  }

  /** The users' rule sets, from the cache or (those missing) one query. */
  private async rulesOf(q: Queryable, userIds: string[]): Promise<Map<string, PushRulesJson>> {
    const out = new Map<string, PushRulesJson>();
    const missing: string[] = [];
    for (const userId of userIds) {
      const hit = this.cache.get(userId);
      if (hit) out.set(userId, hit);
      else missing.push(userId);
    }
    if (missing.length === 0) return out;
    const mark = this.cache.mark();
    const stored = await push.getUserRules(q, missing);
    for (const userId of missing) {
      const built = buildPushRules(userId, (stored.get(userId) as UserPushRules | undefined) ?? {});
      this.cache.set(userId, built, mark);
      out.set(userId, built);
    }
    return out;
  }

  /** Applies a change to the user's customisations and publishes the new rule set. */
  async change(userId: string, edit: (stored: UserPushRules) => UserPushRules): Promise<void> {
    await this.db.transaction(async (trx) => {
      const current = ((await push.getUserRules(trx, [userId])).get(userId) as UserPushRules | undefined) ?? {};
      const next = edit(current);
      await push.putUserRules(trx, userId, next);
      await this.bus.invalidate(trx, this.cache, userId);
      await this.accountData.put(userId, '', 'm.push_rules', buildPushRules(userId, next) as unknown as Record<string, unknown>, trx);
    });
  }

  /**
   * Called by the persister in the event's transaction, before its position is taken: who
   * gets notified, and how loudly. Returns the rows to store at the event's position, and
   * tells the unread counts kept in memory what this event adds (nothing, often) once the
   * position is known.
   */
  async evaluate(trx: Queryable, pdu: events.Pdu, roomState: RoomStateSnapshot): Promise<StoredEventWrites> {
    const rows = pdu.type === 'm.room.redaction' ? [] : await this.actionsFor(trx, pdu, roomState);
    return {
      rows: push.pushActionRows(rows),
      writing: () => this.unread.writing({
        eventId: pdu.event_id, sender: pdu.sender, thread: threadOf(pdu), users: rows.map((r) => ({ userId: r.user_id, highlight: r.highlight })),
      }),
    };
  }

  private async actionsFor(trx: Queryable, pdu: events.Pdu, roomState: RoomStateSnapshot): Promise<Array<Omit<push.PushActionRow, 'stream_ordering'>>> {
    const members = membersOf(roomState, ['join', 'invite']);
    const joined = members.filter((m) => m.membership === 'join');
    // Recipients: everyone joined but the sender, and an invitee for their own invite.
    let recipients = joined.map((m) => m.user_id).filter((u) => u !== pdu.sender);
    if (pdu.type === 'm.room.member' && pdu.content.membership === 'invite' && pdu.state_key && !recipients.includes(pdu.state_key)) {
      recipients.push(pdu.state_key);
    }
    // Whoever blocked the sender is not notified of them (nor counts them unread).
    const blockers = await this.blocks.blockersOf(pdu.sender, trx);
    if (blockers.size) recipients = recipients.filter((u) => !blockers.has(u));
    if (recipients.length === 0) return [];
    const state = roomState.events as unknown as AuthState;
    const rulesets = await this.rulesOf(trx, recipients);
    const powerLevels = state.get(authKey('m.room.power_levels', ''))?.content as { notifications?: Record<string, number> } | undefined;
    const senderPower = userPowerLevel(state, pdu.sender);
    const threadId = threadOf(pdu);
    const rows: Array<Omit<push.PushActionRow, 'stream_ordering'>> = [];
    const matcher = new EventMatcher(pdu);
    for (const userId of recipients) {
      const ruleset = rulesets.get(userId)!.global;
      const member = state.get(authKey('m.room.member', userId));
      const result = evaluatePushRules(ruleset, matcher, {
        userId,
        displayName: (member?.content.displayname as string | undefined) ?? null,
        roomMemberCount: joined.length,
        senderPowerLevel: senderPower,
        notificationPowerLevels: powerLevels?.notifications ?? {},
      });
      if (!result.notify) continue;
      const actions: unknown[] = ['notify'];
      if (result.highlight) actions.push({ set_tweak: 'highlight', value: true });
      if (result.sound) actions.push({ set_tweak: 'sound', value: result.sound });
      rows.push({
        user_id: userId, room_id: pdu.room_id, event_id: pdu.event_id, thread_id: threadId,
        notify: true, highlight: result.highlight, actions, ts: pdu.origin_server_ts,
      });
    }
    return rows;
  }

  /** Unread counts after the user's read receipt (and their join: what came before, such as
   * their own invite, is not news in the room), for the main timeline and each thread. */
  async unreadCounts(userId: string, roomId: string): Promise<UnreadCounts> {
    const blocked = await this.blocks.blockedBy(userId);
    return this.unread.read(userId, roomId, blocked, this.heard.frontier, async (upTo) => {
      const rows = await push.unreadCounts(this.db, userId, roomId, [...blocked], upTo);
      const counts: UnreadCounts = { main: { notification_count: 0, highlight_count: 0 }, threads: {} };
      for (const r of rows) {
        const c = { notification_count: r.notifications, highlight_count: r.highlights };
        if (r.thread_id === 'main') counts.main = c;
        else counts.threads[r.thread_id] = c;
      }
      return counts;
    });
  }

  /** GET /notifications: newest first, each marked read or unread by the user's receipt. */
  async notifications(viewer: Viewer, opts: { from?: number; limit: number; onlyHighlight: boolean }) {
    const rows = await push.notificationsOf(this.db, viewer.userId, { before: opts.from ?? Number.MAX_SAFE_INTEGER, limit: opts.limit, onlyHighlight: opts.onlyHighlight });
    const readPositions = new Map<string, number>();
    for (const roomId of new Set(rows.map((r) => r.room_id))) readPositions.set(roomId, await receipts.readUpTo(this.db, roomId, viewer.userId));
    const clientEvents = await toClientEvents(this.db, await events.getEvents(this.db, rows.map((r) => r.event_id)), viewer);
    const byId = new Map(clientEvents.map((e) => [e.event_id, e]));
    return {
      notifications: rows
        .filter((r) => byId.has(r.event_id))
        .map((r) => ({ actions: r.actions, event: byId.get(r.event_id), read: r.stream_ordering <= (readPositions.get(r.room_id) ?? 0), room_id: r.room_id, ts: r.ts })),
      ...(rows.length === opts.limit ? { next_token: String(rows.at(-1)!.stream_ordering) } : {}),
    };
  }

}

/** The thread an event belongs to: its root for m.thread relations, else the main timeline. */
export function threadOf(pdu: { content: Record<string, unknown> }): string {
  const rel = pdu.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
  return rel?.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : 'main';
}
