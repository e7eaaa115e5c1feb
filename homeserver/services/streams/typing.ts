/**
 * Typing notifications. Kept in the database (so every server process sees them) with an
 * expiry; the process that set one clears it when it runs out, so clients hear "stopped"
 * even if the typist's client never says so.
 */
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import { notify } from '../../storage/notifications.ts';
import * as roomState from '../../storage/roomState.ts';
import { allocatePosition } from '../../storage/streams.ts';
import * as typing from '../../storage/typing.ts';
import { CHANGES_CHANNEL, type Notice, type Notifier } from '../sync/notifier.ts';

/** Clients ask for 30 s typically; anything longer is capped so a vanished client stops soon. */
const MAX_TIMEOUT_MS = 120_000;
const DEFAULT_TIMEOUT_MS = 30_000;

export class TypingService {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(db: Db, notifier: Notifier) {
    this.db = db;
    this.notifier = notifier;
  }

  async setTyping(userId: string, roomId: string, isTyping: boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if ((await roomState.membershipOf(this.db, roomId, userId)) !== 'join') throw errors.forbidden('You are not in this room.');
    const key = `${roomId}\u0000${userId}`;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const now = Date.now();
    const wasTyping = await typing.isTyping(this.db, roomId, userId, now);
    const expires = isTyping ? now + Math.min(timeoutMs, MAX_TIMEOUT_MS) : null;
    // Only a start or a stop is news; refreshing the timeout of someone typing is not.
    await this.change(roomId, userId, expires, wasTyping !== isTyping);
    if (expires !== null) {
      const timer = setTimeout(() => {
        this.timers.delete(key);
        this.change(roomId, userId, null, true).catch(() => {});
      }, expires - now);
      timer.unref();
      this.timers.set(key, timer);
    }
  }

  typingIn(roomId: string): Promise<string[]> {
    return typing.typingUsers(this.db, roomId, Date.now());
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async change(roomId: string, userId: string, expires: number | null, announce: boolean): Promise<void> {
    let notice: Notice | undefined;
    await this.db.transaction(async (trx) => {
      await typing.setTyping(trx, roomId, userId, expires);
      if (!announce) return;
      const position = await allocatePosition(trx, 'typing');
      await typing.markTypingChange(trx, roomId, position);
      notice = { stream: 'typing', position, roomId };
      await notify(trx, CHANGES_CHANNEL, this.notifier.encode(notice));
    });
    if (notice) await this.notifier.onChange(notice);
  }
}
