import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHANNELS } from './api.ts';
import { createApp } from './main.ts';
import { fakeElectron } from './standIn.ts';

const SERVER = 'https://chat.example.org';
const PAGE = `${SERVER}/#!/rooms/abc`;

describe('desktop main process (with a stand-in electron)', () => {
  let userData: string;
  beforeEach(() => { userData = mkdtempSync(path.join(tmpdir(), 'whisper-desktop-')); });
  afterEach(() => rmSync(userData, { recursive: true, force: true }));

  const opts = { preloadPath: '/app/dist/preload.cjs', setupPagePath: '/app/dist/setup.html', platform: 'linux' as const };

  async function started(extra: Parameters<typeof fakeElectron>[0] extends infer O ? Partial<O> : never = {}) {
    const fake = fakeElectron({ userData, ...extra });
    const app = createApp(fake.electron, opts);
    await app.ready;
    return { fake, app };
  }

  async function withServer() {
    const first = await started();
    await first.fake.invoke(CHANNELS.setServer, 'file:///app/dist/setup.html', `${SERVER}/`);
    return started();
  }

  it('opens one locked-down window: context isolation, sandbox, no Node, the preload', async () => {
    const { fake } = await started();
    assert.equal(fake.windows.length, 1);
    const prefs = fake.windows[0].options.webPreferences;
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.nodeIntegrationInWorker, false);
    assert.equal(prefs.webviewTag, false);
    assert.equal(prefs.preload, '/app/dist/preload.cjs');
  });

  it('asks for the server on first start, remembers it, and opens it directly next time', async () => {
    const first = await started();
    assert.deepEqual(first.fake.windows[0].loaded, ['file:///app/dist/setup.html']);
    await assert.rejects(first.fake.invoke(CHANNELS.setServer, 'file:///app/dist/setup.html', 'javascript:alert(1)'));
    await first.fake.invoke(CHANNELS.setServer, 'file:///app/dist/setup.html', `${SERVER}/`);
    assert.deepEqual(first.fake.windows[0].loaded.at(-1), SERVER);
    assert.deepEqual(JSON.parse(readFileSync(path.join(userData, 'whisper-settings.json'), 'utf8')), { serverUrl: SERVER });
    const again = await started();
    assert.deepEqual(again.fake.windows[0].loaded, [SERVER]);
    assert.equal(await again.fake.invoke(CHANNELS.getServer, PAGE), SERVER);
  });

  it('navigation stays on the server origin; other links open in the system browser', async () => {
    const { fake } = await withServer();
    const wc = fake.windows[0].webContents;
    assert.equal(wc.navigate(`${SERVER}/#!/settings`), true);
    assert.equal(wc.navigate('https://evil.example/phish'), false);
    assert.equal(wc.navigate('http://chat.example.org/'), false, 'another scheme is another origin');
    assert.equal(wc.navigate('https://evil.example/', 'will-redirect'), false);
    assert.equal(wc.navigate('file:///etc/passwd'), false);
    assert.deepEqual(fake.opened, ['https://evil.example/phish', 'http://chat.example.org/', 'https://evil.example/']);
  });

  it('window.open is always refused; http(s) links go to the browser, other schemes nowhere', async () => {
    const { fake } = await withServer();
    const handler = fake.windows[0].webContents.openHandler!;
    assert.deepEqual(handler({ url: 'https://example.com/article' }), { action: 'deny' });
    assert.deepEqual(handler({ url: `${SERVER}/popup` }), { action: 'deny' });
    assert.deepEqual(handler({ url: 'javascript:alert(1)' }), { action: 'deny' });
    assert.deepEqual(handler({ url: 'file:///etc/passwd' }), { action: 'deny' });
    assert.deepEqual(fake.opened, ['https://example.com/article', `${SERVER}/popup`]);
  });

  it('grants media, notifications and capture only to the server origin', async () => {
    const { fake } = await withServer();
    const session = fake.windows[0].webContents.session;
    assert.equal(await session.request('media', PAGE), true);
    assert.equal(await session.request('notifications', PAGE), true);
    assert.equal(await session.request('media', 'https://evil.example/'), false);
    assert.equal(await session.request('geolocation', PAGE), false);
    assert.equal(session.permissionCheck!(null, 'media', SERVER), true);
    assert.equal(session.permissionCheck!(null, 'media', 'https://evil.example'), false);
  });

  it('answers IPC only from the app pages', async () => {
    const { fake } = await withServer();
    await assert.rejects(fake.invoke(CHANNELS.getServer, 'https://evil.example/'), /not allowed/);
    await assert.rejects(fake.invoke(CHANNELS.notify, 'file:///tmp/other.html', 'x', 'y'), /not allowed/);
  });

  it('notifications show, and clicking one brings the window up and tells the page which room', async () => {
    const { fake } = await withServer();
    await fake.invoke(CHANNELS.notify, PAGE, 'bob', 'hello there', '!room:server');
    assert.equal(fake.notifications.length, 1);
    assert.deepEqual({ ...fake.notifications[0], click: undefined }, { title: 'bob', body: 'hello there', shown: true, click: undefined });
    fake.notifications[0].click!();
    assert.equal(fake.windows[0].shown, true);
    assert.deepEqual(fake.windows[0].webContents.sent.at(-1), [CHANNELS.notificationClick, ['!room:server']]);
  });

  it('the unread count goes to the badge and the tray', async () => {
    const { fake } = await withServer();
    await fake.invoke(CHANNELS.unread, PAGE, 3, 1);
    assert.equal(fake.badge.at(-1), 3);
    assert.equal(fake.trays[0].tooltip, 'Whisper: 3 unread, 1 mentions');
    assert.equal(fake.trays[0].title, '3');
    await fake.invoke(CHANNELS.unread, PAGE, -5, 'x');
    assert.equal(fake.badge.at(-1), 0, 'nonsense counts as zero');
    assert.equal(fake.trays[0].tooltip, 'Whisper');
  });

  it('the source picker lists screens and windows with thumbnails; the picked one is what getDisplayMedia captures', async () => {
    const sources = [
      { id: 'screen:0:0', name: 'Entire screen', thumbnail: { toDataURL: () => 'data:image/png;base64,AAA' } },
      { id: 'window:42:0', name: 'Game', thumbnail: { toDataURL: () => 'data:image/png;base64,BBB' } },
    ];
    const { fake } = await started({ sources });
    await fake.invoke(CHANNELS.setServer, 'file:///app/dist/setup.html', SERVER);
    const listed = await fake.invoke(CHANNELS.captureSources, PAGE);
    assert.deepEqual(listed, [
      { id: 'screen:0:0', name: 'Entire screen', kind: 'screen', thumbnail: 'data:image/png;base64,AAA' },
      { id: 'window:42:0', name: 'Game', kind: 'window', thumbnail: 'data:image/png;base64,BBB' },
    ]);
    const handler = fake.windows[0].webContents.session.displayMediaHandler!;
    let answer: any;
    handler({}, (s) => { answer = s; });
    assert.deepEqual(answer, {}, 'nothing is captured before a source is picked');
    await assert.rejects(fake.invoke(CHANNELS.selectCapture, PAGE, '../../etc'));
    await fake.invoke(CHANNELS.selectCapture, PAGE, 'window:42:0');
    handler({}, (s) => { answer = s; });
    assert.deepEqual(answer, { video: { id: 'window:42:0', name: 'Whisper capture' } });
  });

  it('system audio comes with the capture on Windows (loopback)', async () => {
    const fake = fakeElectron({ userData });
    const app = createApp(fake.electron, { ...opts, platform: 'win32' });
    await app.ready;
    await fake.invoke(CHANNELS.selectCapture, 'file:///app/dist/setup.html', 'screen:1:0');
    let answer: any;
    fake.windows[0].webContents.session.displayMediaHandler!({}, (s) => { answer = s; });
    assert.equal(answer.audio, 'loopback');
  });

  it('push-to-talk: a global key sends to the page, can be changed, is remembered, reports a taken key', async () => {
    const { fake } = await started({ takenShortcuts: ['F9'] });
    await fake.invoke(CHANNELS.setServer, 'file:///app/dist/setup.html', SERVER);
    assert.equal(await fake.invoke(CHANNELS.setPushToTalk, PAGE, 'F8'), true);
    fake.shortcuts.get('F8')!();
    assert.deepEqual(fake.windows[0].webContents.sent.at(-1), [CHANNELS.pushToTalk, []]);
    assert.equal(await fake.invoke(CHANNELS.setPushToTalk, PAGE, 'F9'), false, 'taken by another app');
    assert.equal(fake.shortcuts.size, 0);
    assert.equal(await fake.invoke(CHANNELS.setPushToTalk, PAGE, 'CommandOrControl+Shift+T'), true);
    const next = await started();
    assert.deepEqual([...next.fake.shortcuts.keys()], ['CommandOrControl+Shift+T'], 'registered again at start');
    assert.equal(await next.fake.invoke(CHANNELS.setPushToTalk, PAGE, null), true);
    assert.equal(next.fake.shortcuts.size, 0);
    await assert.rejects(next.fake.invoke(CHANNELS.setPushToTalk, PAGE, { not: 'a key' }));
  });

  it('quits when the last window closes (not on macOS), and unregisters shortcuts on quit', async () => {
    const { fake } = await started();
    await fake.invoke(CHANNELS.setPushToTalk, 'file:///app/dist/setup.html', 'F8');
    for (const l of fake.appListeners.get('window-all-closed')!) l();
    assert.equal(fake.quitCalled(), true);
    for (const l of fake.appListeners.get('will-quit')!) l();
    assert.equal(fake.shortcuts.size, 0);
  });
});

describe('desktop bundle', () => {
  it('dist/main.cjs and dist/preload.cjs start with the stand-in as their electron module', async function () {
    this.timeout(20_000);
    const { buildDesktop } = await import('./build.ts');
    await buildDesktop();
    const { createRequire, default: Module } = await import('node:module');
    const require = createRequire(import.meta.url);
    const userData = mkdtempSync(path.join(tmpdir(), 'whisper-desktop-'));
    const fake = fakeElectron({ userData });
    const { fakeRenderer } = await import('./standIn.ts');
    const renderer = fakeRenderer();
    const load = (Module as any)._load;
    (Module as any)._load = function (request: string, ...rest: unknown[]) {
      if (request === 'electron') return { ...fake.electron, ...renderer };
      return load.call(this, request, ...rest);
    };
    try {
      require('./dist/main.cjs');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(fake.windows.length, 1);
      assert.match(fake.windows[0].options.webPreferences.preload, /dist[/\\]preload\.cjs$/);
      assert.match(fake.windows[0].loaded[0], /^file:\/\/.*dist[/\\]setup\.html$/);
      require('./dist/preload.cjs');
      assert.equal(typeof renderer.exposed.whisperDesktop.notify, 'function');
    } finally {
      (Module as any)._load = load;
      rmSync(userData, { recursive: true, force: true });
    }
  });
});
