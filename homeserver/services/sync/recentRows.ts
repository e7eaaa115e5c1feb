/**
 * The rows of recent events by position, so the members of a room who wake for the same new
 * event read it once, not once each: a row this process wrote is kept as its commit is heard,
 * one another process wrote is read once by position and kept.
 *
 * A stored row changes only when a later event redacts it or relates to it (its content, its
 * relations flag); that event's notice names it (`touches`) and drops it here, in every
 * process. A read that raced with a drop is not kept (the cache's mark).
 */
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import { InvalidatedCache } from '../caches.ts';
import type { Notice, Notifier } from './notifier.ts';

export class RecentEventRows {
  private readonly db: Db;
  /** Keyed by position, grouped by event id (what a touching event names). */
  private readonly rows: InvalidatedCache<events.EventRow>;

  constructor(db: Db, notifier: Notifier, max: number) {
    this.db = db;
    this.rows = new InvalidatedCache<events.EventRow>('recent_rows', max);
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

  /** Notifications stopped (false) or are back (true): a drop may have been missed meanwhile. */
  listening(on: boolean): void {
    if (on) this.rows.enable();
    else this.rows.disable();
  }

  private heard(n: Notice): void {
    if (n.stream !== 'events') return;
    if (n.touches) this.rows.invalidateGroup(n.touches);
    if (n.row) this.rows.set(String(n.position), n.row, this.rows.mark(), n.row.event_id);
  }
}
