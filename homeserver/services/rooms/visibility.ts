/**
 * History visibility: which events of a room a user may see, from their membership and the
 * room's m.room.history_visibility at each event's position (spec: "History visibility").
 * The room graph is a line, so "at the event" means at its stream position.
 */
import type { Queryable } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';

type Timeline<T> = Array<{ stream_ordering: number; value: T }>;

/** The value in force at `position` in a history sorted oldest first (undefined before the first). */
function at<T>(history: Timeline<T>, position: number): T | undefined {
  let found: T | undefined;
  for (const h of history) {
    if (h.stream_ordering > position) break;
    found = h.value;
  }
  return found;
}

export class VisibilityFilter {
  private readonly memberships: Timeline<string>;
  private readonly visibilities: Timeline<string>;
  private readonly currentlyJoined: boolean;

  private constructor(memberships: Timeline<string>, visibilities: Timeline<string>, currentlyJoined: boolean) {
    this.memberships = memberships;
    this.visibilities = visibilities;
    this.currentlyJoined = currentlyJoined;
  }

  static async forUser(q: Queryable, roomId: string, userId: string): Promise<VisibilityFilter> {
    const [memberships, visibilities, current] = await Promise.all([
      events.membershipHistory(q, roomId, userId),
      events.visibilityHistory(q, roomId),
      roomState.membershipOf(q, roomId, userId),
    ]);
    return new VisibilityFilter(
      memberships.map((m) => ({ stream_ordering: m.stream_ordering, value: m.membership })),
      visibilities.map((v) => ({ stream_ordering: v.stream_ordering, value: v.visibility })),
      current === 'join',
    );
  }

  canSee(position: number): boolean {
    // A user always sees their own membership changes (their invite, their kick or ban).
    if (this.memberships.some((m) => m.stream_ordering === position)) return true;
    const visibility = at(this.visibilities, position) ?? 'shared';
    const membership = at(this.memberships, position);
    if (visibility === 'world_readable') return true;
    if (membership === 'join') return true;
    if (visibility === 'invited') return membership === 'invite';
    // shared: everything while the user is (still) in the room, before they joined too.
    if (visibility === 'shared') return this.currentlyJoined;
    return false;
  }

  /** Whether the user may see the room's history at all right now (members, or world_readable). */
  get isMember(): boolean {
    return this.currentlyJoined;
  }

  /** The last position the user may read up to: their leave/ban, or unbounded while joined. */
  readableUpTo(): number {
    if (this.currentlyJoined) return Number.MAX_SAFE_INTEGER;
    const last = this.memberships.at(-1);
    return last ? last.stream_ordering : 0;
  }
}
