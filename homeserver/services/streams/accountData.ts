/** Account data (global and per room): stored per type, delivered through /sync. */
import { errors, MatrixError } from '../../errors.ts';
import * as accountData from '../../storage/accountData.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import { announced } from '../sync/announce.ts';
import type { Notifier } from '../sync/notifier.ts';
import { checkStoredJsonValues } from '../rooms/eventFormat.ts';

/** Types the server manages itself: clients change them through their own endpoints. */
const SERVER_MANAGED = new Set(['m.push_rules', 'org.whisper.friends']);

/** Told of account data a client wrote, after it committed (e.g. the ignore list, which blocks). */
export type ClientChangeListener = (userId: string, roomId: string, type: string, content: Record<string, unknown>) => Promise<void>;

export class AccountDataService {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly listeners: ClientChangeListener[] = [];

  constructor(db: Db, notifier: Notifier) {
    this.db = db;
    this.notifier = notifier;
  }

  /** Sets account data as a client asks (PUT /user/{userId}/account_data/...). */
  async putFromClient(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<void> {
    if (type.length === 0 || type.length > 255) throw errors.invalidParam('type must be 1-255 characters.');
    if (SERVER_MANAGED.has(type)) throw new MatrixError(405, 'M_BAD_JSON', `${type} is managed by the server; use its own API.`);
    checkStoredJsonValues(content);
    await this.put(userId, roomId, type, content);
    for (const listener of this.listeners) await listener(userId, roomId, type, content);
  }

  /** Registers a listener for account data written by clients (wired in main.ts). */
  onClientChange(listener: ClientChangeListener): void {
    this.listeners.push(listener);
  }

  /** Stores and announces a change; `q` lets a caller include it in its own transaction. */
  async put(userId: string, roomId: string, type: string, content: Record<string, unknown>, q?: Queryable): Promise<void> {
    await announced(this.db, this.notifier, 'account_data', async (trx, position) => {
      await accountData.putAccountData(trx, { user_id: userId, room_id: roomId, type, content, stream_position: position });
      return { userId };
    }, q);
  }

  /** Room tags (m.tag): one tag added, changed or removed, without losing a concurrent change. */
  async changeTag(userId: string, roomId: string, tag: string, content: Record<string, unknown> | null): Promise<void> {
    if (tag.length === 0 || tag.length > 255) throw errors.invalidParam('A tag is 1-255 characters.');
    if (content) checkStoredJsonValues(content);
    await this.db.transaction(async (trx) => {
      await accountData.lockAccountData(trx, userId, roomId, 'm.tag');
      const tags = { ...(await this.tagsIn(userId, roomId, trx)) };
      if (content) tags[tag] = content;
      else if (tag in tags) delete tags[tag];
      else return;
      await this.put(userId, roomId, 'm.tag', { tags }, trx);
    });
  }

  async tagsIn(userId: string, roomId: string, q: Queryable = this.db): Promise<Record<string, Record<string, unknown>>> {
    const row = await accountData.getAccountData(q, userId, roomId, 'm.tag');
    const tags = row?.content.tags;
    return tags && typeof tags === 'object' && !Array.isArray(tags) ? (tags as Record<string, Record<string, unknown>>) : {};
  }

  async get(userId: string, roomId: string, type: string): Promise<Record<string, unknown>> {
    const row = await accountData.getAccountData(this.db, userId, roomId, type);
    if (!row) throw errors.notFound('Account data not found.');
    return row.content;
  }

  between(userId: string, after: number, upTo: number): Promise<accountData.AccountDataRow[]> {
    return accountData.accountDataBetween(this.db, userId, after, upTo);
  }
}
