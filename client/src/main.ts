/** Entry point: resume the saved session (or show sign-in) and route between the screens. */
// First: the sdk's loggers take the level in force when its modules load.
import './state/sdkLogLevel.ts';
import m from 'mithril';
import './styles.css';
import { AppModel } from './app.ts';
import { desktopBridge } from './desktop.ts';
import { AuthView } from './views/auth.ts';
import type { FriendsTab } from './views/friends.ts';
import { Shell } from './views/shell.ts';

const app = new AppModel(localStorage, location.origin);
const root = document.getElementById('app')!;

const signedIn = (render: (attrs: Record<string, string>) => m.Vnode<any>): m.RouteResolver => ({
  onmatch: () => {
    if (!app.session) m.route.set('/login');
  },
  render: (v) => render(v.attrs as Record<string, string>),
});

function mount(): void {
  m.route(root, '/', {
    '/login': { onmatch: () => { if (app.session) m.route.set('/'); }, render: () => m(AuthView, { app }) },
    '/': signedIn(() => m(Shell, { app, page: 'home' })),
    '/rooms/:roomId': signedIn((a) => m(Shell, { app, page: 'room', roomId: a.roomId })),
    '/friends/:tab': signedIn((a) => m(Shell, { app, page: 'home', tab: a.tab as FriendsTab })),
    '/settings': signedIn(() => m(Shell, { app, page: 'settings' })),
  });
}

// The saved session (if any) is opened at once; the shell shows "Connecting…" until the first sync.
void app.resume();
mount();
desktopBridge.onNotificationClick((roomId) => m.route.set(`/rooms/${encodeURIComponent(roomId)}`));
