/**
 * The app model the views share: the saved session, the running ChatState and media cache,
 * and what is open (dialog, reply/edit target). One instance, made in main.ts, passed down.
 */
import m from 'mithril';
import { createClient, HttpApiEvent } from 'matrix-js-sdk';
import { ChatState } from './state/chat.ts';
import { MediaCache } from './state/media.ts';
import { SessionStore, type SavedSession } from './state/session.ts';
import type { MatrixEvent } from 'matrix-js-sdk';
import { desktopBridge } from './desktop.ts';

export type Dialog = { kind: 'dm' } | { kind: 'group' } | { kind: 'invite'; roomId: string } | undefined;

export interface Composer {
  text: string;
  replyTo?: MatrixEvent;
  editing?: MatrixEvent;
}

export class AppModel {
  readonly sessions: SessionStore;
  session?: SavedSession;
  chat?: ChatState;
  media?: MediaCache;
  dialog: Dialog;
  startError?: string;
  private readonly composers = new Map<string, Composer>();
  private unsubscribe?: () => void;

  constructor(store: Storage, origin: string) {
    this.sessions = new SessionStore(store, origin);
  }

  composer(roomId: string): Composer {
    let c = this.composers.get(roomId);
    if (!c) this.composers.set(roomId, (c = { text: '' }));
    return c;
  }

  /** Resumes the saved session, if any (the session is set before the first await). */
  async resume(): Promise<void> {
    const saved = this.sessions.load();
    if (saved) await this.open(saved);
  }

  async open(session: SavedSession): Promise<void> {
    this.session = session;
    const client = createClient({ baseUrl: session.baseUrl, accessToken: session.accessToken, userId: session.userId, deviceId: session.deviceId });
    const chat = new ChatState(client);
    this.chat = chat;
    this.media = new MediaCache(client, () => m.redraw());
    this.unsubscribe = chat.subscribe(() => {
      this.updateBadges();
      m.redraw();
    });
    chat.onNotice((n) => {
      const route = m.route.get() ?? '';
      if (!document.hidden && route.includes(encodeURIComponent(n.roomId))) return;
      desktopBridge.notify(n.mention ? `${n.sender} mentioned you in ${n.roomName}` : n.sender, n.body, n.roomId);
    });
    client.on(HttpApiEvent.SessionLoggedOut, () => void this.signOut(false));
    try {
      await chat.start();
      this.startError = undefined;
    } catch (err) {
      this.startError = (err as Error).message;
    }
    m.redraw();
  }

  /** The title badge and the desktop tray count follow the unread total. */
  updateBadges(): void {
    if (!this.chat) return;
    const { unread, mentions } = this.chat.totalUnread();
    document.title = unread ? `(${unread}) Whisper` : 'Whisper';
    desktopBridge.setUnreadCount(unread, mentions);
  }

  async signOut(tellServer = true): Promise<void> {
    const session = this.session;
    this.unsubscribe?.();
    this.chat?.stop();
    this.media?.dispose();
    this.chat = undefined;
    this.media = undefined;
    this.session = undefined;
    this.composers.clear();
    if (session && tellServer) await this.sessions.logout(session);
    else this.sessions.forget();
    document.title = 'Whisper';
    m.route.set('/login');
  }
}
