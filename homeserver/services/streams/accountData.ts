/** Account data (global and per room): stored per type, delivered through /sync. */
import { errors, MatrixError } from '../../errors.ts';
import * as accountData from '../../storage/accountData.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import { notify } from '../../storage/notifications.ts';
import { allocatePosition } from '../../storage/streams.ts';
import { CHANGES_CHANNEL, type Notice, type Notifier } from '../sync/notifier.ts';
import { checkCanonicalValues } from '../rooms/eventFormat.ts';

/** Types the server manages itself: clients change them through their own endpoints. */
const SERVER_MANAGED = new Set(['m.push_rules']);

export class AccountDataService {
  private readonly db: Db;
  private readonly notifier: Notifier;

  constructor(db: Db, notifier: Notifier) {
    this.db = db;
    this.notifier = notifier;
  }

  /** Sets account data as a client asks (PUT /user/{userId}/account_data/...). */
  async putFromClient(userId: string, roomId: string, type: string, content: Record<string, unknown>): Promise<void> {
    if (type.length === 0 || type.length > 255) throw errors.invalidParam('type must be 1-255 characters.');
    if (SERVER_MANAGED.has(type)) throw new MatrixError(405, 'M_BAD_JSON', `${type} is managed by the server; use its own API.`);
    checkCanonicalValues(content);
    await this.put(userId, roomId, type, content);
  }

  /** Stores and announces a change; `q` lets a caller include it in its own transaction. */
  async put(userId: string, roomId: string, type: string, content: Record<string, unknown>, q?: Queryable): Promise<void> {
    let notice: Notice | undefined;
    const run = async (trx: Queryable) => {
      const position = await allocatePosition(trx, 'account_data');
      await accountData.putAccountData(trx, { user_id: userId, room_id: roomId, type, content, stream_position: position });
      notice = { stream: 'account_data', position, userId };
      await notify(trx, CHANGES_CHANNEL, this.notifier.encode(notice));
    };
    if (q) await run(q);
    else await this.db.transaction(run);
    // Inside a caller's transaction nothing may be announced before its commit (a reader
    // would take the position as committed and skip the row): the NOTIFY, delivered to this
    // process too once the caller commits, does it then.
    if (notice && !q) await this.notifier.onChange(notice);
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
