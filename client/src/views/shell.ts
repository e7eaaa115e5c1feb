/** The signed-in layout: sidebar on the left, the open chat or settings on the right, dialogs on top. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { AuthPromptView } from './authPrompt.ts';
import { DialogView } from './dialogs.ts';
import { FriendsView, type FriendsTab } from './friends.ts';
import { GoLiveDialog } from './goLive.ts';
import { RoomView } from './room.ts';
import { SettingsView } from './settings.ts';
import { roomHref, Sidebar } from './sidebar.ts';
import { VerificationPanel } from './verification.ts';

interface Attrs { app: AppModel; page: 'home' | 'room' | 'settings'; roomId?: string; tab?: FriendsTab }

/** Typing in a text field must not open the microphone when the push-to-talk key is a character key. */
function typingInField(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  const printable = e.key.length === 1;
  return printable && !!t && (t.isContentEditable || t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'range', 'button'].includes((t as HTMLInputElement).type)));
}

/** Push-to-talk: the key held anywhere in the app (the desktop app also has a global shortcut). */
function onPttKey(app: AppModel, e: KeyboardEvent): void {
  const voice = app.voice;
  if (!voice?.inCall || !voice.settings.pushToTalk || e.code !== voice.settings.pttKey || typingInField(e)) return;
  if (e.type === 'keydown') voice.pttDown();
  else voice.pttUp();
}

/** Alt+Up / Alt+Down move through the chat list from anywhere. */
function onKey(app: AppModel, current: string | undefined, e: KeyboardEvent): void {
  if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
  const ids = app.chat!.rooms().map((r) => r.roomId);
  if (!ids.length) return;
  const i = current ? ids.indexOf(current) : -1;
  const next = ids[(i + (e.key === 'ArrowDown' ? 1 : ids.length - 1)) % ids.length];
  e.preventDefault();
  m.route.set(roomHref(next));
}

export function Shell(): m.Component<Attrs> {
  let current: Attrs | undefined;
  // On the document, so the keys work wherever focus is (even on the body after a chat closed).
  const onDocumentKey = (e: KeyboardEvent) => {
    if (current) onPttKey(current.app, e);
    if (e.type === 'keydown' && current?.app.chat?.ready && !current.app.dialog) onKey(current.app, current.roomId, e);
  };
  // Releasing the key while the window is in the background never reaches keyup.
  const onBlur = () => current?.app.voice?.pttUp();
  return {
    oncreate: () => {
      document.addEventListener('keydown', onDocumentKey);
      document.addEventListener('keyup', onDocumentKey);
      window.addEventListener('blur', onBlur);
    },
    onremove: () => {
      document.removeEventListener('keydown', onDocumentKey);
      document.removeEventListener('keyup', onDocumentKey);
      window.removeEventListener('blur', onBlur);
    },
    view: ({ attrs }) => {
      current = attrs;
      const { app, page, roomId } = attrs;
      const chat = app.chat;
      if (!chat || !chat.ready) {
        return m('main.loading', [
          m('p', { role: 'status' }, app.startError ?? `Connecting to ${app.session?.baseUrl ?? 'the server'}…`),
          m('button[type=button]', { onclick: () => app.signOut() }, 'Sign out'),
        ]);
      }
      return m('.shell', [
        // Not a plain #fragment link: the hash is the router's.
        m('a.skip-link', { href: '#composer-input', onclick: (e: Event) => {
          e.preventDefault();
          document.getElementById('composer-input')?.focus();
        } }, 'Skip to message box'),
        m(Sidebar, { app, selected: roomId }),
        m('main.main', page === 'room' && roomId ? m(RoomView, { key: roomId, app, roomId })
          : page === 'settings' ? m(SettingsView, { app })
            : m(FriendsView, { app, tab: attrs.tab })),
        m(DialogView, { app }),
        m(GoLiveDialog, { app }),
        m(VerificationPanel, { app }),
        m(AuthPromptView, { app }),
      ]);
    },
  };
}
