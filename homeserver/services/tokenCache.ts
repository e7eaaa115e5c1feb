/**
 * Access-token lookups are the one query on every authenticated request, so they are cached.
 * Every change that can end or alter a session (logout, device deletion, refresh, password,
 * deactivation, admin change) sends a notification in its transaction; each server process
 * drops that user's entries when it arrives, after the commit. The sending process also drops
 * them at once, and a lookup that raced with any change is not cached (the generation check).
 */
import type { AccessTokenLookup } from '../storage/tokens.ts';

export const SESSIONS_CHANNEL = 'whisper_sessions';

const MAX_ENTRIES = 50_000;

export class TokenCache {
  private readonly entries = new Map<string, AccessTokenLookup>();
  private readonly byUser = new Map<string, Set<string>>();
  private generation = 0;
  /** Off while the notification connection is down: nothing could tell us of changes. */
  private enabled = true;

  get(tokenHash: string): AccessTokenLookup | undefined {
    return this.enabled ? this.entries.get(tokenHash) : undefined;
  }

  /** Taken before a database lookup; the result is cached only if nothing changed since. */
  mark(): number {
    return this.generation;
  }

  set(tokenHash: string, row: AccessTokenLookup, mark: number): void {
    if (!this.enabled || mark !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.clear();
    this.entries.set(tokenHash, row);
    let hashes = this.byUser.get(row.user_id);
    if (!hashes) this.byUser.set(row.user_id, (hashes = new Set()));
    hashes.add(tokenHash);
  }

  invalidateUser(userId: string): void {
    this.generation++;
    for (const hash of this.byUser.get(userId) ?? []) this.entries.delete(hash);
    this.byUser.delete(userId);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.byUser.clear();
  }

  /** Notifications may have been missed: forget everything, and cache again only once
   * listening is back (`enable`). */
  disable(): void {
    this.enabled = false;
    this.clear();
  }

  enable(): void {
    this.clear();
    this.enabled = true;
  }
}
