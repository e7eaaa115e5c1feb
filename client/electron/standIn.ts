/**
 * A stand-in for the `electron` module (whose binary cannot be downloaded here): it records
 * what the main process and preload ask of Electron and lets a test play the user, the page
 * and the OS. Only for client/electron's tests.
 */
import type {
  BrowserWindowOptions, ContextBridgeLike, DesktopCapturerSourceLike, ElectronLike, IpcMainEventLike, IpcRendererLike, SessionLike, WebContentsLike,
} from './electronTypes.ts';

type Listener = (...args: any[]) => any;

export class FakeWebContents implements WebContentsLike {
  url = '';
  readonly listeners = new Map<string, Listener[]>();
  openHandler?: (details: { url: string }) => { action: 'deny' } | { action: 'allow' };
  readonly sent: [string, unknown[]][] = [];
  readonly session: FakeSession = new FakeSession();
  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  setWindowOpenHandler(handler: NonNullable<FakeWebContents['openHandler']>): void {
    this.openHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push([channel, args]);
  }
  getURL(): string {
    return this.url;
  }
  /** Plays a navigation: true when it went ahead (no listener prevented it). */
  navigate(url: string, event: 'will-navigate' | 'will-redirect' = 'will-navigate'): boolean {
    let prevented = false;
    for (const l of this.listeners.get(event) ?? []) l({ preventDefault: () => { prevented = true; } }, url);
    if (!prevented) this.url = url;
    return !prevented;
  }
}

export class FakeSession implements SessionLike {
  permissionHandler?: Parameters<SessionLike['setPermissionRequestHandler']>[0];
  permissionCheck?: Parameters<SessionLike['setPermissionCheckHandler']>[0];
  displayMediaHandler?: Parameters<SessionLike['setDisplayMediaRequestHandler']>[0];
  setPermissionRequestHandler(h: FakeSession['permissionHandler']): void { this.permissionHandler = h; }
  setPermissionCheckHandler(h: FakeSession['permissionCheck']): void { this.permissionCheck = h; }
  setDisplayMediaRequestHandler(h: FakeSession['displayMediaHandler']): void { this.displayMediaHandler = h; }
  /** Asks for a permission as a page at `url` would; resolves with the answer. */
  request(permission: string, url: string): Promise<boolean> {
    return new Promise((resolve) => this.permissionHandler!(null as any, permission, resolve, { requestingUrl: url }));
  }
}

export function fakeElectron(opts: { userData: string; sources?: DesktopCapturerSourceLike[]; takenShortcuts?: string[] }) {
  const appListeners = new Map<string, Listener[]>();
  const ipcHandlers = new Map<string, Listener>();
  const windows: FakeWindow[] = [];
  const shortcuts = new Map<string, () => void>();
  const opened: string[] = [];
  const notifications: { title: string; body: string; shown: boolean; click?: () => void }[] = [];
  const trays: FakeTray[] = [];
  const badge: number[] = [];
  let quit = false;

  class FakeWindow {
    readonly options: BrowserWindowOptions;
    readonly webContents = new FakeWebContents();
    readonly listeners = new Map<string, Listener>();
    loaded: string[] = [];
    shown = false;
    constructor(options: BrowserWindowOptions) {
      this.options = options;
      windows.push(this);
      for (const l of appListeners.get('web-contents-created') ?? []) l({}, this.webContents);
    }
    async loadURL(url: string) { this.loaded.push(url); this.webContents.url = url; }
    async loadFile(file: string) { const url = `file://${file}`; this.loaded.push(url); this.webContents.url = url; }
    show() { this.shown = true; }
    focus() {}
    isMinimized() { return false; }
    restore() {}
    on(event: string, listener: Listener) { this.listeners.set(event, listener); }
  }

  class FakeTray {
    tooltip = '';
    title = '';
    menu: unknown;
    constructor(_image: unknown) { trays.push(this); }
    setToolTip(t: string) { this.tooltip = t; }
    setTitle(t: string) { this.title = t; }
    setContextMenu(m: unknown) { this.menu = m; }
    on() {}
  }

  class FakeNotification {
    readonly entry: (typeof notifications)[number];
    static isSupported() { return true; }
    constructor(o: { title: string; body: string }) {
      this.entry = { ...o, shown: false };
      notifications.push(this.entry);
    }
    show() { this.entry.shown = true; }
    on(_e: 'click', l: () => void) { this.entry.click = l; }
  }

  const electron: ElectronLike = {
    app: {
      getPath: () => opts.userData,
      whenReady: async () => {},
      on: (event, listener) => appListeners.set(event, [...(appListeners.get(event) ?? []), listener]),
      quit: () => { quit = true; },
      requestSingleInstanceLock: () => true,
      setBadgeCount: (n) => { badge.push(n); return true; },
    },
    BrowserWindow: FakeWindow as any,
    ipcMain: { handle: (channel, listener) => { ipcHandlers.set(channel, listener); } },
    shell: { openExternal: async (url) => { opened.push(url); } },
    globalShortcut: {
      register: (acc, cb) => {
        if (opts.takenShortcuts?.includes(acc) || shortcuts.has(acc)) return false;
        shortcuts.set(acc, cb);
        return true;
      },
      unregister: (acc) => { shortcuts.delete(acc); },
      unregisterAll: () => shortcuts.clear(),
    },
    desktopCapturer: { getSources: async () => opts.sources ?? [] },
    Notification: FakeNotification as any,
    Tray: FakeTray as any,
    Menu: { buildFromTemplate: (t) => t },
    nativeImage: { createFromPath: (p) => ({ path: p }), createEmpty: () => ({}) },
  };

  /** Calls an IPC handler as a page at `fromUrl` would. */
  const invoke = async (channel: string, fromUrl: string, ...args: unknown[]) => {
    const handler = ipcHandlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    const event: IpcMainEventLike = { senderFrame: { url: fromUrl }, sender: { getURL: () => fromUrl } };
    return handler(event, ...args);
  };

  return { electron, windows, shortcuts, opened, notifications, trays, badge, ipcHandlers, appListeners, invoke, quitCalled: () => quit };
}

/** The preload's side: a contextBridge that keeps what is exposed, an ipcRenderer that records. */
export function fakeRenderer() {
  const exposed: Record<string, any> = {};
  const invoked: [string, unknown[]][] = [];
  const listeners = new Map<string, Set<Listener>>();
  const contextBridge: ContextBridgeLike = { exposeInMainWorld: (key, api) => { exposed[key] = api; } };
  const ipcRenderer: IpcRendererLike = {
    invoke: async (channel, ...args) => { invoked.push([channel, args]); return channel === 'whisper:get-server' ? 'https://chat.example.org' : undefined; },
    send: () => {},
    on: (channel, l) => { if (!listeners.has(channel)) listeners.set(channel, new Set()); listeners.get(channel)!.add(l); },
    removeListener: (channel, l) => { listeners.get(channel)?.delete(l); },
  };
  const emit = (channel: string, ...args: unknown[]) => { for (const l of listeners.get(channel) ?? []) l({ sender: 'ipc-event' }, ...args); };
  return { contextBridge, ipcRenderer, exposed, invoked, listeners, emit };
}
