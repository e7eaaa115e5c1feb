/**
 * To-device messages (key sharing, verification): queued per device, delivered through that
 * device's /sync, and deleted once the device's next sync shows it received them. A retried
 * send with the same transaction id delivers nothing twice.
 */
import type { Db } from '../../storage/database.ts';
import * as devices from '../../storage/devices.ts';
import * as toDevice from '../../storage/toDevice.ts';
import type { UserIds } from '../userIds.ts';
import { announced } from '../sync/announce.ts';
import type { Notifier } from '../sync/notifier.ts';

/** At most this many messages per sync response; the rest come with the next one. */
const PER_SYNC = 100;
/** Transaction ids are remembered this long (clients retry within minutes). */
const TXN_TTL_MS = 24 * 60 * 60 * 1000;

export interface ToDeviceBatch {
  events: Array<{ sender: string; type: string; content: Record<string, unknown> }>;
  /** The to-device position the next sync token must carry. */
  position: number;
}

export class ToDeviceService {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly userIds: UserIds;
  /**
   * Per device, the position up to which this process has deleted acknowledged messages.
   * Positions only grow, so a sync whose token is not past it has nothing to acknowledge,
   * and the common sync (no to-device traffic) costs no query.
   */
  private readonly acknowledged = new Map<string, number>();

  constructor(deps: { db: Db; notifier: Notifier; userIds: UserIds }) {
    this.db = deps.db;
    this.notifier = deps.notifier;
    this.userIds = deps.userIds;
  }

  /** PUT /sendToDevice/{type}/{txnId}: `*` addresses every device of a user. */
  async send(sender: { userId: string; deviceId: string }, type: string, txnId: string, messages: Record<string, Record<string, Record<string, unknown>>>): Promise<void> {
    await this.db.transaction(async (trx) => {
      if (!(await toDevice.claimTxn(trx, sender.userId, sender.deviceId, txnId))) return;
      // One message per device per send (`*` and a named device may both address it).
      const byTarget = new Map<string, { userId: string; deviceId: string; content: Record<string, unknown> }>();
      for (const [userId, byDevice] of Object.entries(messages)) {
        // No federation: messages for other servers' users have nowhere to go.
        if (!this.userIds.isLocal(userId)) continue;
        const known = new Set((await devices.listDevices(trx, userId)).map((d) => d.device_id));
        for (const [deviceId, content] of Object.entries(byDevice)) {
          const ids = deviceId === '*' ? [...known] : known.has(deviceId) ? [deviceId] : [];
          for (const id of ids) byTarget.set(JSON.stringify([userId, id]), { userId, deviceId: id, content });
        }
      }
      const targets = [...byTarget.values()];
      if (targets.length === 0) return;
      await announced(this.db, this.notifier, 'to_device', async (q, position) => {
        await toDevice.insertMessages(q, targets.map((t) => ({
          stream_position: position, user_id: t.userId, device_id: t.deviceId, sender: sender.userId, type, content: t.content,
        })));
        return [...new Set(targets.map((t) => t.userId))].map((userId) => ({ userId }));
      }, trx);
    });
  }

  /**
   * What a device's sync delivers: acknowledges (deletes) what it received up to `after`,
   * then hands out the next messages up to `upTo`.
   */
  async forSync(userId: string, deviceId: string, after: number, upTo: number): Promise<ToDeviceBatch> {
    const key = JSON.stringify([userId, deviceId]);
    if (after > (this.acknowledged.get(key) ?? 0)) {
      await toDevice.deleteMessagesUpTo(this.db, userId, deviceId, after);
      this.acknowledged.set(key, after);
    }
    // Nothing can be waiting above `after` unless the stream moved.
    if (upTo <= after) return { events: [], position: upTo };
    const rows = await toDevice.messagesFor(this.db, userId, deviceId, after, upTo, PER_SYNC);
    const truncated = rows.length === PER_SYNC;
    return {
      events: rows.map((r) => ({ sender: r.sender, type: r.type, content: r.content })),
      position: truncated ? rows.at(-1)!.stream_position : upTo,
    };
  }

  /** Housekeeping: forget old transaction ids. */
  async expireTxns(): Promise<number> {
    return toDevice.deleteTxnsBefore(this.db, Date.now() - TXN_TTL_MS);
  }
}
