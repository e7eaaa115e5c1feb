/**
 * Writes to a stream and announces it: the position is taken under the stream's row lock,
 * the NOTIFY goes out in the same transaction (so other processes hear it once committed),
 * and this process's notifier hears it right after the commit.
 */
import type { Knex } from 'knex';
import type { Db, Queryable } from '../../storage/database.ts';
import { notifyAll } from '../../storage/notifications.ts';
import { allocatePosition, type StreamName } from '../../storage/streams.ts';
import { CHANGES_CHANNEL, type Notice, type Notifier } from './notifier.ts';
import type { Stream } from './tokens.ts';

export type NoticeTarget = Omit<Notice, 'stream' | 'position'>;

/**
 * Runs `write` with a fresh position of `stream`. With `q` it joins the caller's transaction;
 * nothing may then be announced in-process before the caller commits (a reader would take
 * the position as committed and skip the row), so it is announced once that transaction has
 * committed — and by the NOTIFY, which reaches this process too, when `q` is not a knex
 * transaction.
 */
export async function announced(
  db: Db,
  notifier: Notifier,
  stream: Stream & StreamName,
  write: (trx: Queryable, position: number) => Promise<NoticeTarget | NoticeTarget[]>,
  q?: Queryable,
): Promise<number> {
  let notices: Notice[] = [];
  let position = 0;
  const run = async (trx: Queryable) => {
    position = await allocatePosition(trx, stream);
    const targets = await write(trx, position);
    notices = (Array.isArray(targets) ? targets : [targets]).map((t) => ({ ...t, stream, position }));
    await notifyAll(trx, CHANGES_CHANNEL, notices.map((n) => notifier.encode(n)));
  };
  const announce = async () => {
    await notifier.onChanges(notices);
  };
  if (!q) {
    await db.transaction(run);
    await announce();
  } else {
    await run(q);
    (q as Partial<Knex.Transaction>).executionPromise?.then(announce, () => {});
  }
  return position;
}
