import assert from 'node:assert/strict';
import { CHANNELS } from './api.ts';
import { exposeDesktopApi } from './preload.ts';
import { fakeRenderer } from './standIn.ts';

describe('desktop preload (with a stand-in electron)', () => {
  it('exposes only window.whisperDesktop, whose calls become IPC invokes', async () => {
    const r = fakeRenderer();
    exposeDesktopApi(r);
    assert.deepEqual(Object.keys(r.exposed), ['whisperDesktop']);
    const api = r.exposed.whisperDesktop;
    assert.deepEqual(Object.keys(api).sort(), ['getCaptureSources', 'getServerUrl', 'notify', 'onNotificationClick', 'onPushToTalk', 'selectCaptureSource', 'setPushToTalkKey', 'setServerUrl', 'setUnreadCount']);
    assert.equal(await api.getServerUrl(), 'https://chat.example.org');
    api.notify('bob', 'hi', '!r:s');
    api.setUnreadCount(2, 1);
    await api.setServerUrl('https://other.example');
    await api.selectCaptureSource('screen:0:0');
    await api.setPushToTalkKey('F8');
    await api.getCaptureSources();
    assert.deepEqual(r.invoked, [
      [CHANNELS.getServer, []],
      [CHANNELS.notify, ['bob', 'hi', '!r:s']],
      [CHANNELS.unread, [2, 1]],
      [CHANNELS.setServer, ['https://other.example']],
      [CHANNELS.selectCapture, ['screen:0:0']],
      [CHANNELS.setPushToTalk, ['F8']],
      [CHANNELS.captureSources, []],
    ]);
  });

  it('push-to-talk and notification clicks reach page listeners without the IPC event, and unsubscribe', () => {
    const r = fakeRenderer();
    exposeDesktopApi(r);
    const api = r.exposed.whisperDesktop;
    const got: unknown[][] = [];
    const off = api.onPushToTalk((...args: unknown[]) => got.push(['ptt', ...args]));
    const offClick = api.onNotificationClick((tag: string) => got.push(['click', tag]));
    r.emit(CHANNELS.pushToTalk);
    r.emit(CHANNELS.notificationClick, '!room:s');
    assert.deepEqual(got, [['ptt'], ['click', '!room:s']]);
    off();
    offClick();
    r.emit(CHANNELS.pushToTalk);
    assert.equal(got.length, 2);
    assert.equal(r.listeners.get(CHANNELS.pushToTalk)!.size, 0);
  });
});
