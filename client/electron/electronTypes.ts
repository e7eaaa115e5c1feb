/**
 * The part of Electron's API that the main process and preload use. Electron itself is not a
 * dependency of the repository (its binary cannot be downloaded here), so the code is written
 * against this subset: the real module satisfies it, and the tests pass a stand-in.
 */

export interface IpcMainEventLike {
  senderFrame?: { url: string } | null;
  sender: { getURL(): string };
}

export interface WebContentsLike {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void; url?: string }, url: string) => void): void;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  send(channel: string, ...args: unknown[]): void;
  getURL(): string;
  session: SessionLike;
}

export interface SessionLike {
  setPermissionRequestHandler(handler: (webContents: WebContentsLike, permission: string, callback: (granted: boolean) => void, details: { requestingUrl?: string }) => void): void;
  setPermissionCheckHandler(handler: (webContents: WebContentsLike | null, permission: string, requestingOrigin: string) => boolean): void;
  setDisplayMediaRequestHandler(handler: (request: unknown, callback: (streams: { video?: unknown; audio?: 'loopback' | 'loopbackWithMute' }) => void) => void): void;
}

export interface BrowserWindowLike {
  webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  loadFile(path: string): Promise<void>;
  show(): void;
  focus(): void;
  isMinimized(): boolean;
  restore(): void;
  on(event: 'closed' | 'ready-to-show', listener: () => void): void;
  setOverlayIcon?(icon: unknown, description: string): void;
}

export interface BrowserWindowOptions {
  width: number;
  height: number;
  minWidth?: number;
  minHeight?: number;
  show?: boolean;
  backgroundColor?: string;
  title?: string;
  icon?: string;
  autoHideMenuBar?: boolean;
  webPreferences: {
    preload: string;
    contextIsolation: boolean;
    sandbox: boolean;
    nodeIntegration: boolean;
    nodeIntegrationInWorker?: boolean;
    webSecurity?: boolean;
    webviewTag?: boolean;
    spellcheck?: boolean;
  };
}

export interface DesktopCapturerSourceLike {
  id: string;
  name: string;
  thumbnail: { toDataURL(): string };
}

export interface TrayLike {
  setToolTip(text: string): void;
  setTitle?(title: string): void;
  setContextMenu(menu: unknown): void;
  on(event: 'click', listener: () => void): void;
}

export interface ElectronLike {
  app: {
    getPath(name: 'userData'): string;
    whenReady(): Promise<void>;
    on(event: string, listener: (...args: any[]) => void): void;
    quit(): void;
    requestSingleInstanceLock(): boolean;
    setBadgeCount(count: number): boolean;
    setAppUserModelId?(id: string): void;
  };
  BrowserWindow: new (options: BrowserWindowOptions) => BrowserWindowLike;
  ipcMain: { handle(channel: string, listener: (event: IpcMainEventLike, ...args: any[]) => unknown): void };
  shell: { openExternal(url: string): Promise<void> };
  globalShortcut: { register(accelerator: string, callback: () => void): boolean; unregister(accelerator: string): void; unregisterAll(): void };
  desktopCapturer: { getSources(options: { types: ('screen' | 'window')[]; thumbnailSize: { width: number; height: number }; fetchWindowIcons?: boolean }): Promise<DesktopCapturerSourceLike[]> };
  Notification: (new (options: { title: string; body: string; silent?: boolean }) => { show(): void; on(event: 'click', listener: () => void): void }) & { isSupported(): boolean };
  Tray: new (image: unknown) => TrayLike;
  Menu: { buildFromTemplate(template: { label?: string; type?: string; click?: () => void }[]): unknown };
  nativeImage: { createFromPath(path: string): unknown; createEmpty(): unknown };
}

export interface ContextBridgeLike {
  exposeInMainWorld(key: string, api: unknown): void;
}

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<any>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: any[]) => void): void;
  removeListener(channel: string, listener: (event: unknown, ...args: any[]) => void): void;
}
