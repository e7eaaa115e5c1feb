/**
 * PostgreSQL LISTEN/NOTIFY, on both databases: how one server process tells the others (and
 * itself) that something changed, after the change commits. With PostgreSQL a dedicated
 * connection listens and reconnects when it drops; PGlite's child process sends them over its IPC channel.
 */
import pg from 'pg';
import type { PgliteProcess } from './pgliteProcess.ts';
import type { Queryable } from './database.ts';

export interface Subscription {
  /** Called with each payload sent on the channel (after the sender's commit). */
  onMessage(payload: string): void;
  /** The listening connection dropped (`listening` false: messages may be missed from now)
   * or is back (`listening` true: what was sent meanwhile is lost). */
  onGap(listening: boolean): void;
}

export interface DbNotifications {
  listen(channel: string, subscription: Subscription): Promise<void>;
  close(): Promise<void>;
}

/** Sends a notification as part of `q`: delivered when (and only if) its transaction commits. */
export async function notify(q: Queryable, channel: string, payload: string): Promise<void> {
  await q.raw('SELECT pg_notify(?, ?)', [channel, payload]);
}

/** Several notifications in one statement, delivered in this order. */
export async function notifyAll(q: Queryable, channel: string, payloads: string[]): Promise<void> {
  if (payloads.length === 1) return notify(q, channel, payloads[0]);
  // A function scan yields the array's elements in order, and each call queues its notification.
  if (payloads.length) await q.raw('SELECT pg_notify(?, p) FROM unnest(?::text[]) AS n(p)', [channel, payloads]);
}

export function pgliteNotifications(child: PgliteProcess): DbNotifications {
  return {
    listen: (channel, sub) => child.listen(channel, sub),
    // The child stops listening when it closes with the database.
    close: async () => {},
  };
}

const RECONNECT_DELAYS_MS = [100, 500, 1000, 2000, 5000];

export function postgresNotifications(connectionString: string, onError: (err: Error) => void): DbNotifications {
  const subscriptions = new Map<string, Subscription[]>();
  let client: pg.Client | undefined;
  let closed = false;
  let attempt = 0;

  const gap = (listening: boolean) => {
    for (const subs of subscriptions.values()) for (const s of subs) s.onGap(listening);
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString });
    c.on('notification', (msg) => {
      for (const s of subscriptions.get(msg.channel) ?? []) s.onMessage(msg.payload ?? '');
    });
    c.on('error', (err) => onError(err));
    c.on('end', () => {
      if (closed || client !== c) return;
      client = undefined;
      gap(false);
      reconnect();
    });
    await c.connect();
    for (const channel of subscriptions.keys()) await c.query(`LISTEN "${channel}"`);
    client = c;
    attempt = 0;
  };

  const reconnect = () => {
    const delay = RECONNECT_DELAYS_MS[Math.min(attempt++, RECONNECT_DELAYS_MS.length - 1)];
    setTimeout(() => {
      if (closed) return;
      connect().then(
        // Anything sent while we were away is lost: subscribers start afresh.
        () => gap(true),
        (err) => {
          onError(err as Error);
          reconnect();
        },
      );
    }, delay).unref();
  };

  return {
    async listen(channel, sub) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
      const first = !subscriptions.has(channel);
      subscriptions.set(channel, [...(subscriptions.get(channel) ?? []), sub]);
      if (!client) await connect();
      else if (first) await client.query(`LISTEN "${channel}"`);
    },
    async close() {
      closed = true;
      const c = client;
      client = undefined;
      await c?.end();
    },
  };
}
