/**
 * What clients ask for at start-up besides chat: TURN credentials (coturn's REST scheme),
 * pushers (stored for the client's sake; this server reaches no push gateway), third-party
 * protocols (none).
 */
import { createHmac } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Db } from '../storage/database.ts';
import * as pushers from '../storage/pushers.ts';

export interface TurnCredentials {
  username: string;
  password: string;
  uris: string[];
  ttl: number;
}

/**
 * coturn's `use-auth-secret`: the username is "<expiry unix time>:<user>", the password the
 * base64 HMAC-SHA1 of that username keyed with the shared secret. coturn checks both.
 */
export function turnCredentials(secret: string, userId: string, ttlSec: number, now = Date.now()): { username: string; password: string } {
  const username = `${Math.floor(now / 1000) + ttlSec}:${userId}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

export class ClientSupportService {
  private readonly db: Db;
  private readonly config: Config;

  constructor(db: Db, config: Config) {
    this.db = db;
    this.config = config;
  }

  /** Spec: GET /voip/turnServer — {} when no TURN server is configured. */
  turnServer(userId: string): TurnCredentials | Record<string, never> {
    const { turnSecret, turnUris, turnTtlSec } = this.config;
    if (!turnSecret || turnUris.length === 0) return {};
    return { ...turnCredentials(turnSecret, userId, turnTtlSec), uris: turnUris, ttl: turnTtlSec };
  }

  listPushers(userId: string): Promise<Array<Record<string, unknown>>> {
    return pushers.listPushers(this.db, userId);
  }

  /** Spec: POST /pushers/set — kind null deletes; `append: false` takes the key from other users. */
  async setPusher(userId: string, p: { app_id: string; pushkey: string; kind: string | null; append?: boolean } & Record<string, unknown>): Promise<void> {
    if (p.kind === null) return pushers.deletePusher(this.db, userId, p.app_id, p.pushkey);
    const { append, ...pusher } = p;
    await pushers.putPusher(this.db, userId, p.app_id, p.pushkey, pusher, append !== true);
  }
}
