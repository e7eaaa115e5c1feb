/**
 * The rows of recent events by position, so the members of a room who wake for the same new
 * event read it once, not once each: a row this process wrote is kept as its commit is heard,
 * one another process wrote is read once by position and kept.
 *
 * A row written here is held aside, by event id, until a commit's notice names its event and
 * gives its position (a rolled-back write never is heard). That notice can come back through
 * the database's notifications before the writer hears its statement answered (an event
 * stored by a single statement commits with it), and wake the room's members at once: so the
 * row is held from before the write, not from its answer.
 *
 * A stored row changes only when a later event redacts it or relates to it (its content, its
 * relations flag); that event's notice names it (`touches`) and drops it here, in every
 * process. A read that raced with a drop is not kept (the cache's mark).
 */
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import { LRUCache } from 'lru-cache';
import { InvalidatedCache } from '../caches.ts';
import type { Notice, Notifier } from './notifier.ts';

/** Rows written and not yet heard committed, at most: more are in flight only in a burst. */
const WRITTEN_MAX = 1_000;

export class RecentEventRows {
  private readonly db: Db;
  /** Keyed by position, grouped by event id (what a touching event names). */
  private readonly rows: InvalidatedCache<events.EventRow>;
  /** Written, not yet heard committed, by event id (bounded: a rolled-back write is never heard). */
  private readonly written: LRUCache<string, events.NewEventRow> | undefined;

  constructor(db: Db, notifier: Notifier, max: number) {
    this.db = db;
    this.rows = new InvalidatedCache<events.EventRow>('recent_rows', max);
    this.written = max < 1 ? undefined : new LRUCache({ max: WRITTEN_MAX });
    notifier.subscribe((n) => this.heard(n));
  }

  /** The rows at these positions (all committed), in the order asked. */
  async at(positions: number[]): Promise<events.EventRow[]> {
    const found = new Map<number, events.EventRow>();
    const missing: number[] = [];
    for (const p of positions) {
      const hit = this.rows.get(String(p));
      if (hit) found.set(p, hit);
      else missing.push(p);
    }
    if (missing.length) {
      const mark = this.rows.mark();
      for (const row of await events.eventsAtPositions(this.db, missing)) {
        found.set(row.stream_ordering, row);
        this.rows.set(String(row.stream_ordering), row, mark, row.event_id);
      }
    }
    return positions.map((p) => found.get(p)).filter((r): r is events.EventRow => r !== undefined);
  }

  /** A row is about to be written by this process (its position is not known yet). */
  writing(row: events.NewEventRow): void {
    this.written?.set(row.event_id, row);
  }

  /** Notifications stopped (false) or are back (true): a drop may have been missed meanwhile. */
  listening(on: boolean): void {
    if (on) this.rows.enable();
    else this.rows.disable();
  }

  private heard(n: Notice): void {
    if (n.stream !== 'events') return;
    if (n.touches) this.rows.invalidateGroup(n.touches);
    if (!n.eventId) return;
    const written = this.written?.get(n.eventId);
    this.written?.delete(n.eventId);
    const row = n.row ?? (written && { ...written, stream_ordering: n.position, redacted_by: null });
    if (row && row.event_id === n.eventId) this.rows.set(String(n.position), row, this.rows.mark(), row.event_id);
  }
}
