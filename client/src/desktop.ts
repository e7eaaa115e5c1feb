/**
 * The Electron preload's API when running in the desktop shell (client/electron), with browser
 * fallbacks: the Notification API for notifications, nothing for the tray.
 */
import type { CaptureSource, WhisperDesktopApi } from '../electron/api.ts';

export type { CaptureSource };

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
  /** Screens and windows with thumbnails (desktop app only: a browser shows its own picker). */
  captureSources(): Promise<CaptureSource[]> | undefined {
    return window.whisperDesktop?.getCaptureSources();
  },
  /** Makes the next getDisplayMedia() capture this source (desktop app). */
  selectCaptureSource(id: string): Promise<void> | undefined {
    return window.whisperDesktop?.selectCaptureSource(id);
  },
  /** A global push-to-talk key in the desktop app (works while the window is not focused); false when taken. */
  setPushToTalkKey(accelerator: string | null): Promise<boolean> | undefined {
    return window.whisperDesktop?.setPushToTalkKey(accelerator);
  },
  onPushToTalk(listener: () => void): (() => void) | undefined {
    return window.whisperDesktop?.onPushToTalk(listener);
  },
  /** Opens the room of a clicked desktop notification. */
  onNotificationClick(open: (roomId: string) => void): void {
    window.whisperDesktop?.onNotificationClick(open);
  },
};
