/**
 * The desktop API the preload puts on `window.whisperDesktop`, and the IPC channels behind it.
 * Shared by the preload, the main process and the web app (client/src/desktop.ts).
 */

export interface CaptureSource {
  id: string;
  name: string;
  kind: 'screen' | 'window';
  /** A PNG data: URL of the source's thumbnail. */
  thumbnail: string;
}

export interface WhisperDesktopApi {
  notify(title: string, body: string, tag?: string): void;
  /** Shown on the tray icon, the dock/taskbar badge and the tooltip. */
  setUnreadCount(unread: number, mentions: number): void;
  getServerUrl(): Promise<string | undefined>;
  /** Remembers the server and opens it. */
  setServerUrl(url: string): Promise<void>;
  /** Screens and windows to share, with thumbnails, for the "Go live" picker. */
  getCaptureSources(): Promise<CaptureSource[]>;
  /** The source the next getDisplayMedia() call captures (with system audio where the platform has it). */
  selectCaptureSource(id: string): Promise<void>;
  /** Sets the global push-to-talk key (an Electron accelerator such as "F8"); false when it is taken. */
  setPushToTalkKey(accelerator: string | null): Promise<boolean>;
  /** Called when the global push-to-talk key is pressed (global shortcuts report key-down only). */
  onPushToTalk(listener: () => void): () => void;
  /** Called when a notification is clicked, with its tag (the room id). */
  onNotificationClick(listener: (tag: string) => void): () => void;
}

export const CHANNELS = {
  notify: 'whisper:notify',
  unread: 'whisper:unread',
  getServer: 'whisper:get-server',
  setServer: 'whisper:set-server',
  captureSources: 'whisper:capture-sources',
  selectCapture: 'whisper:select-capture',
  setPushToTalk: 'whisper:set-push-to-talk',
  pushToTalk: 'whisper:push-to-talk',
  notificationClick: 'whisper:notification-click',
} as const;
