/**
 * The Electron preload's API when running in the desktop shell (client/electron), with browser
 * fallbacks: the Notification API for notifications, nothing for the tray.
 */
import type { WhisperDesktopApi } from '../electron/api.ts';

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
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    const n = new Notification(title, { body, tag });
    n.onclick = () => {
      window.focus();
      if (tag) location.hash = `#!/rooms/${encodeURIComponent(tag)}`;
    };
  },
  setUnreadCount(unread: number, mentions: number): void {
    window.whisperDesktop?.setUnreadCount(unread, mentions);
  },
  /** Opens the room of a clicked desktop notification. */
  onNotificationClick(open: (roomId: string) => void): void {
    window.whisperDesktop?.onNotificationClick(open);
  },
};
