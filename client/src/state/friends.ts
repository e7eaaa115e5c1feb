/**
 * Friends, blocks, privacy and the friend-notifications feed over Whisper's API. The server
 * keeps `org.whisper.friends` account data current (ids only, plus the unread notification
 * count); when it changes through sync we re-read the lists with names, so every open screen
 * follows requests, acceptances and blocks made anywhere.
 */
import { ClientEvent, UserEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { encryptionStateEvent } from './crypto.ts';
import { cryptoSettled } from './lateCrypto.ts';
import { Method, whisperRequest } from './whisperApi.ts';

export type PresenceDot = 'online' | 'idle' | 'offline';
export type Audience = 'friends' | 'everyone';

export interface Friend {
  user_id: string;
  displayname?: string;
  avatar_url?: string;
  presence?: string;
  room_id?: string;
  since?: number;
}

export interface FriendRequest {
  user_id: string;
  displayname?: string;
  avatar_url?: string;
  room_id?: string;
  sent_at?: number;
}

export interface BlockedUser {
  user_id: string;
  displayname?: string;
  since?: number;
}

export interface FriendNotification {
  id: string;
  kind: 'friend_request' | 'friend_accepted' | string;
  user_id: string;
  room_id?: string;
  ts: number;
  read: boolean;
}

export interface Privacy {
  dm_from: Audience;
  group_invites_from: Audience;
}

/** What the server mirrors into account data. */
interface FriendsData {
  friends?: string[];
  incoming?: string[];
  outgoing?: string[];
  blocked?: string[];
  unread_notifications?: number;
  privacy?: Privacy;
}

export const FRIENDS_EVENT = 'org.whisper.friends';

const enc = encodeURIComponent;

export class FriendsState {
  private readonly client: MatrixClient;
  private readonly changed: () => void;
  friends: Friend[] = [];
  incoming: FriendRequest[] = [];
  outgoing: FriendRequest[] = [];
  blocked: BlockedUser[] = [];
  notifications: FriendNotification[] = [];
  /** Whether the lists have been read once. */
  loaded = false;
  private refreshing?: Promise<void>;
  private again = false;

  constructor(client: MatrixClient, changed: () => void) {
    this.client = client;
    this.changed = changed;
    client.on(ClientEvent.AccountData, (ev: MatrixEvent) => {
      if (ev.getType() === FRIENDS_EVENT) void this.refresh().catch(() => {});
    });
    client.on(UserEvent.Presence, () => changed());
  }

  private data(): FriendsData {
    return (this.client.getAccountData(FRIENDS_EVENT as never)?.getContent() as FriendsData | undefined) ?? {};
  }

  /** Unread friend notifications, as the server last told through sync (or the feed, if newer). */
  unreadNotifications(): number {
    return this.data().unread_notifications ?? this.notifications.filter((n) => !n.read).length;
  }

  privacyFromSync(): Privacy | undefined {
    return this.data().privacy;
  }

  isFriend(userId: string): boolean {
    return this.friends.some((f) => f.user_id === userId) || (this.data().friends ?? []).includes(userId);
  }

  isBlocked(userId: string): boolean {
    return this.blocked.some((b) => b.user_id === userId) || (this.data().blocked ?? []).includes(userId);
  }

  /** Online / idle / offline: live presence from sync when the sdk has it, else what the list said. */
  presence(f: Friend): PresenceDot {
    const user = this.client.getUser(f.user_id);
    const p = user?.events?.presence ? user.presence : f.presence;
    return p === 'online' ? 'online' : p === 'unavailable' ? 'idle' : 'offline';
  }

  /** Re-reads friends, requests, blocks and the notification feed; calls made meanwhile are folded into one more. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.again = false;
          const [lists, blocks, feed] = await Promise.all([
            whisperRequest<{ friends: Friend[]; incoming: FriendRequest[]; outgoing: FriendRequest[] }>(this.client, Method.Get, '/friends'),
            whisperRequest<{ blocked: BlockedUser[] }>(this.client, Method.Get, '/blocks'),
            whisperRequest<{ notifications: FriendNotification[] }>(this.client, Method.Get, '/notifications', undefined, { limit: '30' }),
          ]);
          this.friends = lists.friends;
          this.incoming = lists.incoming;
          this.outgoing = lists.outgoing;
          this.blocked = blocks.blocked;
          this.notifications = feed.notifications;
          this.loaded = true;
          this.changed();
        } while (this.again);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Sends a request by username (`bob`) or user id (`@bob:server`); resolves with its state. */
  async request(who: string): Promise<'pending' | 'accepted'> {
    const v = who.trim();
    const body = v.startsWith('@') ? { user_id: v } : { username: v };
    const res = await whisperRequest<{ state: 'pending' | 'accepted'; room_id?: string }>(this.client, Method.Post, '/friends/requests', body);
    // The server makes the request's DM; encrypt it before anyone writes there, as for any new DM.
    await cryptoSettled(this.client);
    if (res.state === 'pending' && res.room_id && this.client.getCrypto()) {
      const { type, content, state_key } = encryptionStateEvent();
      await this.client.sendStateEvent(res.room_id, type as never, content as never, state_key).catch(() => {});
    }
    await this.refresh();
    return res.state;
  }

  /** Accepts; resolves with the DM room the request became. */
  async accept(userId: string): Promise<string> {
    const res = await whisperRequest<{ room_id: string }>(this.client, Method.Post, `/friends/requests/${enc(userId)}/accept`, {});
    await this.refresh();
    return res.room_id;
  }

  private async act(method: Method, path: string): Promise<void> {
    await whisperRequest(this.client, method, path, method === Method.Delete ? undefined : {});
    await this.refresh();
  }

  decline(userId: string): Promise<void> {
    return this.act(Method.Post, `/friends/requests/${enc(userId)}/decline`);
  }

  cancel(userId: string): Promise<void> {
    return this.act(Method.Delete, `/friends/requests/${enc(userId)}`);
  }

  remove(userId: string): Promise<void> {
    return this.act(Method.Delete, `/friends/${enc(userId)}`);
  }

  block(userId: string): Promise<void> {
    return this.act(Method.Put, `/blocks/${enc(userId)}`);
  }

  unblock(userId: string): Promise<void> {
    return this.act(Method.Delete, `/blocks/${enc(userId)}`);
  }

  privacy(): Promise<Privacy> {
    return whisperRequest<Privacy>(this.client, Method.Get, '/privacy');
  }

  setPrivacy(change: Partial<Privacy>): Promise<Privacy> {
    return whisperRequest<Privacy>(this.client, Method.Put, '/privacy', change);
  }

  /** Marks the whole feed read (the bell was opened). */
  async markAllRead(): Promise<void> {
    if (!this.notifications.some((n) => !n.read) && !this.unreadNotifications()) return;
    this.notifications = this.notifications.map((n) => ({ ...n, read: true }));
    this.changed();
    await whisperRequest(this.client, Method.Post, '/notifications/read', { all: true });
  }

  /** The friend (with the DM the friendship made), when `userId` is one. */
  friend(userId: string): Friend | undefined {
    return this.friends.find((f) => f.user_id === userId);
  }
}
