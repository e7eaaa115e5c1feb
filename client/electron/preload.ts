/**
 * The preload: runs sandboxed before the page and puts the small desktop API on
 * `window.whisperDesktop` through contextBridge. The page never sees ipcRenderer itself.
 */
import { CHANNELS, type WhisperDesktopApi } from './api.ts';
import type { ContextBridgeLike, IpcRendererLike } from './electronTypes.ts';

export function buildDesktopApi(ipc: IpcRendererLike): WhisperDesktopApi {
  const subscribe = (channel: string, listener: (...args: any[]) => void) => {
    // Only the listener's own arguments reach the page, never the IPC event.
    const wrapped = (_event: unknown, ...args: any[]) => listener(...args);
    ipc.on(channel, wrapped);
    return () => ipc.removeListener(channel, wrapped);
  };
  return {
    notify: (title, body, tag) => void ipc.invoke(CHANNELS.notify, String(title), String(body), tag === undefined ? undefined : String(tag)),
    setUnreadCount: (unread, mentions) => void ipc.invoke(CHANNELS.unread, unread, mentions),
    getServerUrl: () => ipc.invoke(CHANNELS.getServer),
    setServerUrl: (url) => ipc.invoke(CHANNELS.setServer, String(url)),
    getCaptureSources: () => ipc.invoke(CHANNELS.captureSources),
    selectCaptureSource: (id) => ipc.invoke(CHANNELS.selectCapture, String(id)),
    setPushToTalkKey: (accelerator) => ipc.invoke(CHANNELS.setPushToTalk, accelerator),
    onPushToTalk: (listener) => subscribe(CHANNELS.pushToTalk, () => listener()),
    onNotificationClick: (listener) => subscribe(CHANNELS.notificationClick, (tag: unknown) => listener(String(tag))),
  };
}

export function exposeDesktopApi(electron: { contextBridge: ContextBridgeLike; ipcRenderer: IpcRendererLike }): void {
  electron.contextBridge.exposeInMainWorld('whisperDesktop', buildDesktopApi(electron.ipcRenderer));
}
