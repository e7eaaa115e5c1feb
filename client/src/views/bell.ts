/** The notifications bell: unread friend notifications (requests, acceptances); opening it marks them read. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { icon } from './icons.ts';

interface Attrs { app: AppModel }

export function Bell(): m.Component<Attrs> {
  let open = false;
  /** What was unread when the panel opened: still highlighted while it shows, though marked read. */
  let fresh = new Set<string>();
  const close = (e: MouseEvent) => {
    if (!(e.target as Element).closest?.('.bell')) {
      open = false;
      document.removeEventListener('click', close);
      m.redraw();
    }
  };
  return {
    onremove: () => document.removeEventListener('click', close),
    view: ({ attrs: { app } }) => {
      const fr = app.chat!.friends;
      const unread = fr.unreadNotifications();
      const who = (userId: string) => app.chat!.displayName(userId);
      return m('.bell', { onkeydown: (e: KeyboardEvent) => {
        if (e.key === 'Escape' && open) {
          open = false;
          document.removeEventListener('click', close);
        }
      } }, [
        m('button.icon[type=button]', {
          'aria-label': unread ? `Notifications, ${unread} unread` : 'Notifications',
          'aria-expanded': String(open),
          title: 'Notifications',
          onclick: () => {
            open = !open;
            if (open) {
              document.addEventListener('click', close);
              // The feed is re-read first so what was unread is still marked as such while shown.
              void fr.refresh().then(() => {
                fresh = new Set(fr.notifications.filter((n) => !n.read).map((n) => n.id));
                return fr.markAllRead();
              }).catch(() => {});
            } else document.removeEventListener('click', close);
          },
        }, [icon('bell'), unread > 0 && m('span.badge.bell-count', String(unread))]),
        open && m('.bell-panel[role=dialog]', { 'aria-label': 'Notifications' }, [
          m('h2', 'Notifications'),
          fr.notifications.length === 0 ? m('p.empty', 'Nothing new.') : m('ul', fr.notifications.map((n) => m('li', { key: n.id, class: fresh.has(n.id) || !n.read ? 'unread' : '' }, [
            m(m.route.Link, { href: n.kind === 'friend_request' ? '/friends/pending' : '/friends/all', onclick: () => { open = false; } },
              n.kind === 'friend_request' ? `${who(n.user_id)} sent you a friend request` : n.kind === 'friend_accepted' ? `${who(n.user_id)} accepted your friend request` : `${n.kind}: ${who(n.user_id)}`),
            m('time', new Date(n.ts).toLocaleString()),
          ]))),
        ]),
      ]);
    },
  };
}
