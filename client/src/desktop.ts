/**
 * The Electron preload's API when running in the desktop shell (see client/electron/preload.ts),
 * with browser fallbacks: the Notification API, and nothing for the tray.
 */
export interface WhisperDesktopApi {
  notify(title: string, body: string, tag?: string): void;
  setUnreadCount(unread: number, mentions: number): void;
  getServerUrl(): Promise<string | undefined>;
  setServerUrl(url: string): Promise<void>;
  onPushToTalk(listener: (pressed: boolean) => void): () => void;
  getCaptureSources(): Promise<{ id: string; name: string; thumbnail: string; kind: 'screen' | 'window' }[]>;
}

declare global {
  interface Window {
    whisperDesktop?: WhisperDesktopApi;
  }
}

export const desktopBridge = {
  get isDesktop(): boolean {
    return typeof window !== 'undefined' && !!window.whisperDesktop;
  },
  notify(title: string, body: string, tag?: string): void {
    if (window.whisperDesktop) return window.whisperDesktop.notify(title, body, tag);
    if (typeof Notification !== 'undefined' && Notification.permission === 'granted') new Notification(title, { body, tag });
  },
  setUnreadCount(unread: number, mentions: number): void {
    window.whisperDesktop?.setUnreadCount(unread, mentions);
  },
};
