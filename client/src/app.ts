/**
 * The app model the views share: the saved session, the running ChatState and media cache,
 * and what is open (dialog, reply/edit target). One instance, made in main.ts, passed down.
 */
import m from 'mithril';
import { HttpApiEvent, IndexedDBStore, MemoryStore } from 'matrix-js-sdk';
import { ChatState } from './state/chat.ts';
import { EncryptionState } from './state/crypto.ts';
import { LateCryptoClient } from './state/lateCrypto.ts';
import { MediaCache } from './state/media.ts';
import { SessionStore, type SavedSession } from './state/session.ts';
import type { MatrixEvent } from 'matrix-js-sdk';
import { desktopBridge } from './desktop.ts';
import { UiaCancelled, type UiaStage } from './state/uia.ts';
import { VerificationState } from './state/verification.ts';
import { VoiceState } from './state/voice.ts';

export type Dialog = { kind: 'dm' } | { kind: 'group' } | { kind: 'voice' } | { kind: 'invite'; roomId: string } | { kind: 'go-live' } | undefined;

/** A question user-interactive auth is waiting on (answered by AuthPromptView). */
export interface AuthRequest {
  stage: UiaStage;
  error?: string;
  resolve: (answer: string) => void;
  reject: (err: Error) => void;
}

export interface Composer {
  text: string;
  replyTo?: MatrixEvent;
  editing?: MatrixEvent;
}

/**
 * The sdk's IndexedDB store, so a reload shows the rooms from the last session at once and
 * syncs only what changed since. Saved when the page is hidden (the sdk itself saves every few
 * minutes). Undefined (memory only) where IndexedDB is unavailable. Not started yet: see open().
 */
function syncCache(userId: string): IndexedDBStore | undefined {
  if (typeof indexedDB === 'undefined') return undefined;
  const store = new IndexedDBStore({ indexedDB, localStorage, dbName: `whisper-sync:${userId}` });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void store.save(true).catch(() => {});
  });
  return store;
}

/**
 * After the next frame has been drawn; after 100 ms where no frame comes (a hidden tab draws
 * none, and what waits here must still run there).
 */
function afterNextFrame(): Promise<void> {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 100);
  });
}

export class AppModel {
  readonly sessions: SessionStore;
  session?: SavedSession;
  chat?: ChatState;
  media?: MediaCache;
  voice?: VoiceState;
  encryption?: EncryptionState;
  verification?: VerificationState;
  dialog: Dialog;
  startError?: string;
  authRequest?: AuthRequest;
  private readonly composers = new Map<string, Composer>();
  private unsubscribe?: () => void;
  private syncCache?: IndexedDBStore;

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
    // Marks (whisper:*) for bench:client's breakdown of a start: opened, first sync in, crypto running.
    performance.mark('whisper:open');
    const store = syncCache(session.userId);
    const encryption = new EncryptionState(() => m.redraw());
    this.encryption = encryption;
    const client = new LateCryptoClient({
      baseUrl: session.baseUrl, accessToken: session.accessToken, userId: session.userId, deviceId: session.deviceId, store, cryptoCallbacks: encryption.callbacks,
    });
    this.syncCache = store;
    const chat = new ChatState(client);
    this.chat = chat;
    chat.authPrompt = (stage, error) => new Promise<string>((resolve, reject) => {
      this.authRequest?.reject(new UiaCancelled());
      this.authRequest = { stage, error, resolve, reject };
      m.redraw();
    });
    this.verification = new VerificationState(client, () => m.redraw());
    this.verification.prompt = chat.authPrompt;
    this.media = new MediaCache(client, () => m.redraw());
    const voice = new VoiceState({
      homeserverUrl: session.baseUrl, accessToken: session.accessToken, userId: session.userId, storage: localStorage,
      onChange: () => m.redraw(), room: (roomId) => client.getRoom(roomId), desktop: desktopBridge,
    });
    this.voice = voice;
    this.unsubscribe = chat.subscribe(() => {
      this.updateBadges();
      voice.observeRoster();
      m.redraw();
    });
    chat.onNotice((n) => {
      const route = m.route.get() ?? '';
      if (!document.hidden && route.includes(encodeURIComponent(n.roomId))) return;
      desktopBridge.notify(n.mention ? `${n.sender} mentioned you in ${n.roomName}` : n.sender, n.body, n.roomId);
    });
    client.on(HttpApiEvent.SessionLoggedOut, () => void this.signOut(false));
    try {
      // Crypto is started before the sync, so the sync knows it is coming and keeps what it brings
      // for it (LateCryptoClient), but does its work once the first sync's rooms are drawn: its
      // WASM compilation and IndexedDB store creation would slow that first render down.
      client.startCryptoAfter(chat.firstSync.then(afterNextFrame));
      const cryptoStarted = encryption.start(client);
      await Promise.all([
        store?.startup().catch(() => {
          // No cache (private browsing, quota): the session runs from memory.
          client.store = new MemoryStore({ localStorage });
          this.syncCache = undefined;
        }),
        client.getVersions().catch(() => {}),
      ]);
      void cryptoStarted.then(() => performance.mark('whisper:crypto-started'));
      const synced = chat.start();
      // Not awaited: open() (and signing in) is done once the rooms are in, crypto or not.
      void Promise.all([cryptoStarted, synced]).then(() => {
        // A first session gives the account its verification identity (cross-signing), as Element does.
        if (encryption.client && this.encryption === encryption) void this.verification?.setUpIdentityIfNone().catch(() => {});
      }, () => {});
      await synced;
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
    const cache = this.syncCache;
    this.syncCache = undefined;
    this.unsubscribe?.();
    this.authRequest?.reject(new UiaCancelled());
    this.authRequest = undefined;
    const client = this.chat?.client;
    const encryption = this.encryption;
    this.chat?.stop();
    this.encryption = undefined;
    this.verification?.stop();
    this.verification = undefined;
    this.media?.dispose();
    void this.voice?.close();
    this.chat = undefined;
    this.media = undefined;
    this.voice = undefined;
    this.session = undefined;
    this.composers.clear();
    if (session && tellServer) await this.sessions.logout(session);
    else this.sessions.forget();
    await cache?.deleteAllData().catch(() => {});
    // This session's keys go with it: a later sign-in is a new device with its own.
    if (client) void encryption?.forget(client);
    document.title = 'Whisper';
    m.route.set('/login');
  }
}
