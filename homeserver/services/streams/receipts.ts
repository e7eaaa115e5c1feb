/** Read receipts and read markers (spec: "Receipts", "Read markers"). */
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import { notify } from '../../storage/notifications.ts';
import * as receipts from '../../storage/receipts.ts';
import * as roomState from '../../storage/roomState.ts';
import { allocatePosition } from '../../storage/streams.ts';
import type { Requester } from '../sessions.ts';
import { CHANGES_CHANNEL, type Notice, type Notifier } from '../sync/notifier.ts';
import type { AccountDataService } from './accountData.ts';

export const RECEIPT_TYPES = ['m.read', 'm.read.private'] as const;

export class ReceiptService {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly accountData: AccountDataService;

  constructor(deps: { db: Db; notifier: Notifier; accountData: AccountDataService }) {
    this.db = deps.db;
    this.notifier = deps.notifier;
    this.accountData = deps.accountData;
  }

  /** Moves a receipt forward (never back: a late, older receipt is ignored). */
  async send(requester: Requester, roomId: string, type: string, eventId: string, threadId?: string): Promise<void> {
    if (!(RECEIPT_TYPES as readonly string[]).includes(type)) throw errors.invalidParam(`Unknown receipt type ${type}.`);
    const event = await this.requireVisibleEvent(requester.userId, roomId, eventId);
    let notice: Notice | undefined;
    await this.db.transaction(async (trx) => {
      const current = await receipts.currentReceipt(trx, roomId, requester.userId, type, threadId ?? '');
      if (current && current.event_stream_ordering >= event.stream_ordering) return;
      const position = await allocatePosition(trx, 'receipts');
      await receipts.putReceipt(trx, {
        room_id: roomId, user_id: requester.userId, receipt_type: type, thread_id: threadId ?? '',
        event_id: eventId, event_stream_ordering: event.stream_ordering, ts: Date.now(), stream_position: position,
      });
      notice = { stream: 'receipts', position, roomId, userId: requester.userId };
      await notify(trx, CHANGES_CHANNEL, this.notifier.encode(notice));
    });
    if (notice) await this.notifier.onChange(notice);
  }

  /** POST /read_markers: the fully-read marker (account data) and receipts in one call. */
  async setReadMarkers(requester: Requester, roomId: string, markers: { fullyRead?: string; read?: string; readPrivate?: string }): Promise<void> {
    if (markers.fullyRead) {
      await this.requireVisibleEvent(requester.userId, roomId, markers.fullyRead);
      await this.accountData.put(requester.userId, roomId, 'm.fully_read', { event_id: markers.fullyRead });
    }
    if (markers.read) await this.send(requester, roomId, 'm.read', markers.read);
    if (markers.readPrivate) await this.send(requester, roomId, 'm.read.private', markers.readPrivate);
  }

  /** The m.receipt ephemeral event for a room: receipts changed in the window (all when after is 0). */
  async receiptEvent(roomId: string, viewerId: string, after: number, upTo: number): Promise<Record<string, unknown> | undefined> {
    const rows = (await receipts.receiptsBetween(this.db, roomId, after, upTo)).filter(
      (r) => r.receipt_type !== 'm.read.private' || r.user_id === viewerId,
    );
    if (rows.length === 0) return undefined;
    const content: Record<string, Record<string, Record<string, Record<string, unknown>>>> = {};
    for (const r of rows) {
      const receipt: Record<string, unknown> = { ts: r.ts };
      if (r.thread_id) receipt.thread_id = r.thread_id;
      ((content[r.event_id] ??= {})[r.receipt_type] ??= {})[r.user_id] = receipt;
    }
    return { type: 'm.receipt', content };
  }

  private async requireVisibleEvent(userId: string, roomId: string, eventId: string): Promise<events.EventRow> {
    if ((await roomState.membershipOf(this.db, roomId, userId)) !== 'join') throw errors.forbidden('You are not in this room.');
    const event = await events.getEvent(this.db, eventId);
    if (!event || event.room_id !== roomId) throw errors.notFound('Event not found.');
    return event;
  }
}
