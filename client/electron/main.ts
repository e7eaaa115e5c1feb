/**
 * The desktop shell's main process: one window showing the Whisper server's web app, locked to
 * that server's origin (contextIsolation, sandbox, no Node in the page, navigation and new
 * windows refused or sent to the system browser), plus what a browser cannot do: a screen and
 * window picker with thumbnails, desktop notifications, a tray with the unread count, a global
 * push-to-talk key, and the remembered server address.
 *
 * Written against `ElectronLike` and started with `createApp(require('electron'))` by the
 * bundled entry (entry.ts), so the tests can run it with a stand-in.
 */
import path from 'node:path';
import { CHANNELS, type CaptureSource } from './api.ts';
import type { BrowserWindowLike, ElectronLike, IpcMainEventLike, TrayLike, WebContentsLike } from './electronTypes.ts';
import { parseServerUrl, SettingsFile } from './settings.ts';

export interface DesktopOptions {
  /** Where the bundled preload script is. */
  preloadPath: string;
  /** The local page that asks for a server address on first start. */
  setupPagePath: string;
  iconPath?: string;
  platform?: NodeJS.Platform;
}

/** Permissions the web app may have, and only from the server's origin. */
const ALLOWED_PERMISSIONS = new Set(['media', 'notifications', 'display-capture', 'fullscreen', 'clipboard-sanitized-write', 'speaker-selection']);

export interface DesktopApp {
  /** Resolves once the window is open. */
  ready: Promise<void>;
  window(): BrowserWindowLike | undefined;
  serverOrigin(): string | undefined;
  tray(): TrayLike | undefined;
}

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'file:' ? 'file://' : u.origin;
  } catch {
    return undefined;
  }
}

export function createApp(electron: ElectronLike, opts: DesktopOptions): DesktopApp {
  const { app, BrowserWindow, ipcMain, shell, globalShortcut, desktopCapturer, Notification, Tray, Menu, nativeImage } = electron;
  const platform = opts.platform ?? process.platform;
  let settings: SettingsFile;
  let win: BrowserWindowLike | undefined;
  let tray: TrayLike | undefined;
  let selectedSource: string | undefined;
  let pushToTalkKey: string | undefined;
  const setupUrl = `file://${path.resolve(opts.setupPagePath)}`;

  const serverOrigin = () => {
    const url = settings?.get().serverUrl;
    return url ? originOf(url) : undefined;
  };

  /** The server's pages, or the local setup page, and nothing else. */
  const isAppUrl = (url: string): boolean => {
    const origin = originOf(url);
    if (!origin) return false;
    if (origin === 'file://') return url.split(/[?#]/)[0] === setupUrl;
    return origin === serverOrigin();
  };

  const openExternally = (url: string) => {
    if (/^https?:\/\//i.test(url) || /^mailto:/i.test(url)) void shell.openExternal(url);
  };

  /** IPC is answered only for the app's own pages, never for a page that got in somehow. */
  const fromApp = (event: IpcMainEventLike): boolean => isAppUrl(event.senderFrame?.url ?? event.sender.getURL());

  const guard = (contents: WebContentsLike) => {
    const onNavigate = (event: { preventDefault(): void }, url: string) => {
      if (isAppUrl(url)) return;
      event.preventDefault();
      openExternally(url);
    };
    contents.on('will-navigate', onNavigate);
    contents.on('will-redirect', onNavigate);
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      openExternally(url);
      return { action: 'deny' };
    });
  };

  const handle = (channel: string, fn: (...args: any[]) => unknown) => {
    ipcMain.handle(channel, (event, ...args) => {
      if (!fromApp(event)) throw new Error('not allowed');
      return fn(...args);
    });
  };

  const showWindow = () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };

  const registerPushToTalk = (accelerator: string | null): boolean => {
    if (pushToTalkKey) globalShortcut.unregister(pushToTalkKey);
    pushToTalkKey = undefined;
    if (!accelerator) return true;
    const ok = globalShortcut.register(accelerator, () => win?.webContents.send(CHANNELS.pushToTalk));
    if (ok) pushToTalkKey = accelerator;
    return ok;
  };

  const createWindow = async () => {
    win = new BrowserWindow({
      width: 1280,
      height: 800,
      minWidth: 720,
      minHeight: 480,
      show: false,
      title: 'Whisper',
      backgroundColor: '#313338',
      icon: opts.iconPath,
      autoHideMenuBar: true,
      webPreferences: {
        preload: opts.preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        webviewTag: false,
        spellcheck: true,
      },
    });
    const session = win.webContents.session;
    session.setPermissionRequestHandler((_wc, permission, callback, details) => {
      callback(ALLOWED_PERMISSIONS.has(permission) && !!details.requestingUrl && originOf(details.requestingUrl) === serverOrigin());
    });
    session.setPermissionCheckHandler((_wc, permission, origin) => ALLOWED_PERMISSIONS.has(permission) && originOf(origin) === serverOrigin());
    // getDisplayMedia() in the page captures the source picked in Whisper's own picker.
    session.setDisplayMediaRequestHandler((_request, callback) => {
      if (!selectedSource) return callback({});
      callback({ video: { id: selectedSource, name: 'Whisper capture' }, ...(platform === 'win32' ? { audio: 'loopback' as const } : {}) });
    });
    win.on('ready-to-show', () => win?.show());
    win.on('closed', () => { win = undefined; });
    const server = settings.get().serverUrl;
    await (server ? win.loadURL(server) : win.loadFile(opts.setupPagePath));
  };

  const ready = (async () => {
    if (!app.requestSingleInstanceLock()) {
      app.quit();
      return;
    }
    app.on('second-instance', showWindow);
    app.on('web-contents-created', (_event: unknown, contents: WebContentsLike) => guard(contents));
    app.on('window-all-closed', () => { if (platform !== 'darwin') app.quit(); });
    app.on('activate', () => { if (!win) void createWindow(); });
    app.on('will-quit', () => globalShortcut.unregisterAll());
    await app.whenReady();
    app.setAppUserModelId?.('org.whisper.desktop');
    settings = new SettingsFile(app.getPath('userData'));

    handle(CHANNELS.getServer, () => settings.get().serverUrl);
    handle(CHANNELS.setServer, async (input: unknown) => {
      const url = parseServerUrl(input);
      if (!url) throw new Error('not an http(s) address');
      settings.update({ serverUrl: url });
      if (win && originOf(win.webContents.getURL()) !== originOf(url)) await win.loadURL(url);
    });
    handle(CHANNELS.notify, (title: unknown, body: unknown, tag: unknown) => {
      if (!Notification.isSupported() || typeof title !== 'string' || typeof body !== 'string') return;
      const n = new Notification({ title: title.slice(0, 200), body: body.slice(0, 1000) });
      n.on('click', () => {
        showWindow();
        if (typeof tag === 'string') win?.webContents.send(CHANNELS.notificationClick, tag);
      });
      n.show();
    });
    handle(CHANNELS.unread, (unread: unknown, mentions: unknown) => {
      const count = Number.isInteger(unread) && (unread as number) >= 0 ? (unread as number) : 0;
      const highlights = Number.isInteger(mentions) && (mentions as number) >= 0 ? (mentions as number) : 0;
      app.setBadgeCount(count);
      tray?.setToolTip(count ? `Whisper: ${count} unread${highlights ? `, ${highlights} mentions` : ''}` : 'Whisper');
      tray?.setTitle?.(count ? String(count) : '');
    });
    handle(CHANNELS.captureSources, async (): Promise<CaptureSource[]> => {
      const sources = await desktopCapturer.getSources({ types: ['screen', 'window'], thumbnailSize: { width: 320, height: 180 }, fetchWindowIcons: false });
      return sources.map((s) => ({ id: s.id, name: s.name, kind: s.id.startsWith('screen:') ? 'screen' : 'window', thumbnail: s.thumbnail.toDataURL() }));
    });
    handle(CHANNELS.selectCapture, (id: unknown) => {
      if (typeof id !== 'string' || !/^(screen|window):[\w:.-]+$/.test(id)) throw new Error('not a capture source');
      selectedSource = id;
    });
    handle(CHANNELS.setPushToTalk, (accelerator: unknown) => {
      if (accelerator !== null && (typeof accelerator !== 'string' || accelerator.length > 64)) throw new Error('not an accelerator');
      const ok = registerPushToTalk(accelerator as string | null);
      if (ok) settings.update({ pushToTalkKey: (accelerator as string | null) ?? undefined });
      return ok;
    });

    tray = new Tray(opts.iconPath ? nativeImage.createFromPath(opts.iconPath) : nativeImage.createEmpty());
    tray.setToolTip('Whisper');
    tray.setContextMenu(Menu.buildFromTemplate([
      { label: 'Open Whisper', click: showWindow },
      { type: 'separator' },
      { label: 'Quit', click: () => app.quit() },
    ]));
    tray.on('click', showWindow);

    const saved = settings.get().pushToTalkKey;
    if (saved) registerPushToTalk(saved);
    await createWindow();
  })();

  return { ready, window: () => win, serverOrigin, tray: () => tray };
}
