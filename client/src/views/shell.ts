/** The signed-in layout: sidebar on the left, the open chat or settings on the right, dialogs on top. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { AuthPromptView } from './authPrompt.ts';
import { DialogView } from './dialogs.ts';
import { FriendsView, type FriendsTab } from './friends.ts';
import { RoomView } from './room.ts';
import { SettingsView } from './settings.ts';
import { roomHref, Sidebar } from './sidebar.ts';

interface Attrs { app: AppModel; page: 'home' | 'room' | 'settings'; roomId?: string; tab?: FriendsTab }

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
    if (current?.app.chat?.ready && !current.app.dialog) onKey(current.app, current.roomId, e);
  };
  return {
    oncreate: () => document.addEventListener('keydown', onDocumentKey),
    onremove: () => document.removeEventListener('keydown', onDocumentKey),
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
        m(AuthPromptView, { app }),
      ]);
    },
  };
}
