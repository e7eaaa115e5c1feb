/**
 * Device-list tracking: when a user's devices or keys change, everyone sharing a room with
 * them must re-query their keys (`device_lists.changed`); when they no longer share a room,
 * the client may stop tracking them (`device_lists.left`).
 */
import type { Db, Queryable } from '../../storage/database.ts';
import * as deviceLists from '../../storage/deviceLists.ts';
import * as events from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';
import { announced } from '../sync/announce.ts';
import type { Notifier } from '../sync/notifier.ts';
import type { SyncToken } from '../sync/tokens.ts';


/** A room the user has a membership in, as current state holds it. */
export type OwnRoom = Awaited<ReturnType<typeof roomState.roomsOfUser>>[number];
/** A membership event: whose, in which room, what it became. */
export type MemberEvent = Awaited<ReturnType<typeof events.memberChangesBetween>>[number];
export interface DeviceListChanges {
  changed: string[];
  left: string[];
}

type Window = Pick<SyncToken, 'events' | 'device_lists'>;

export class DeviceListService {
  private readonly db: Db;
  private readonly notifier: Notifier;

  constructor(db: Db, notifier: Notifier) {
    this.db = db;
    this.notifier = notifier;
  }

  /** Records that the user's devices or keys changed; `q` joins the caller's transaction. */
  async markChanged(userId: string, q?: Queryable): Promise<void> {
    await announced(this.db, this.notifier, 'device_lists', async (trx, position) => {
      await deviceLists.markChanged(trx, userId, position);
      return { userId };
    }, q);
  }

  /**
   * `signer` signed `target`'s master key with their user-signing key: only the signer sees that
   * signature, so only the signer's devices are told to re-query the target (and learn they
   * verified them; Synapse does the same).
   */
  async markSignedBy(signer: string, target: string, q?: Queryable): Promise<void> {
    await announced(this.db, this.notifier, 'device_lists', async (trx, position) => {
      await deviceLists.markChangedForSigner(trx, signer, target, position);
      return { userId: signer };
    }, q);
  }

  /**
   * What the user's client must learn about other users' devices between two tokens. `known`:
   * the user's current memberships and the membership events of the window in their rooms,
   * when the caller (sync) has read them already.
   */
  async changesFor(userId: string, after: Window, upTo: Window, known?: { ownRooms: OwnRoom[]; memberEvents: MemberEvent[] }): Promise<DeviceListChanges> {
    const eventsMoved = upTo.events > after.events;
    const listsMoved = upTo.device_lists > after.device_lists;
    if (!eventsMoved && !listsMoved) return { changed: [], left: [] };

    // Rooms the user is in, or whose membership of theirs changed within the window.
    const rooms = (known?.ownRooms ?? (await roomState.roomsOfUser(this.db, userId, ['join', 'leave', 'ban'])))
      .filter((r) => r.membership === 'join' || ((r.membership === 'leave' || r.membership === 'ban') && r.stream_ordering > after.events))
      .map((r) => r.room_id);
    let memberChanges: MemberEvent[] = [];
    if (eventsMoved && known) {
      const inRooms = new Set(rooms);
      memberChanges = known.memberEvents.filter((e) => inRooms.has(e.room_id));
    } else if (eventsMoved) {
      memberChanges = await events.memberChangesBetween(this.db, rooms, after.events, upTo.events);
    }
    if (!listsMoved && memberChanges.length === 0) return { changed: [], left: [] };

    const peers = await this.notifier.peersOf(userId, upTo.events);
    // The user's own devices count too: their other sessions must learn of a new one.
    const changed = new Set(listsMoved ? await deviceLists.changedBetween(this.db, [...peers], after.device_lists, upTo.device_lists) : []);
    const gone = new Set<string>();
    for (const c of memberChanges) {
      if (c.user_id === userId) {
        // The user joined (everyone there is new to them) or left (everyone there may be gone).
        const members = await roomState.roomMembers(this.db, c.room_id, ['join']);
        for (const m of members) if (m.user_id !== userId) (c.membership === 'join' ? changed : gone).add(m.user_id);
      } else if (c.membership === 'join') {
        changed.add(c.user_id);
      } else if (c.membership === 'leave' || c.membership === 'ban') {
        gone.add(c.user_id);
      }
    }
    // Whom the user verified is news for them even without a shared room (verified over to-device).
    const signed = listsMoved ? await deviceLists.signedBetween(this.db, userId, after.device_lists, upTo.device_lists) : [];
    return {
      changed: [...new Set([...[...changed].filter((u) => peers.has(u)), ...signed])].sort(),
      left: [...gone].filter((u) => !peers.has(u) && u !== userId).sort(),
    };
  }
}
