/** The left column: invites, DMs and group chats with unread and mention badges; the user panel. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { RoomSummary } from '../state/chat.ts';
import { avatar } from './avatar.ts';
import { icon } from './icons.ts';

interface Attrs { app: AppModel; selected?: string }

export const roomHref = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

function badges(r: RoomSummary): m.Children {
  if (r.membership === 'invite') return m('span.badge.new', { 'aria-label': 'invitation' }, 'NEW');
  return [
    r.mentions > 0 && m('span.badge.mention', { 'aria-label': `${r.mentions} mentions` }, `@${r.mentions}`),
    r.unread > 0 && m('span.badge', { 'aria-label': `${r.unread} unread` }, String(r.unread)),
  ];
}

function roomItem(app: AppModel, r: RoomSummary, selected: boolean): m.Vnode {
  const label = `${r.name}${r.unread ? `, ${r.unread} unread` : ''}${r.mentions ? `, ${r.mentions} mentions` : ''}${r.membership === 'invite' ? ', invitation' : ''}`;
  return m('li', m(m.route.Link, {
    href: roomHref(r.roomId),
    class: `room${selected ? ' selected' : ''}${r.unread || r.membership === 'invite' ? ' unread' : ''}`,
    'aria-current': selected ? 'page' : undefined,
    'aria-label': label,
    'data-room-id': r.roomId,
  }, [avatar(app.media, r.name, r.avatarMxc, 32), m('span.name', r.name), badges(r)]));
}

export const Sidebar: m.Component<Attrs> = {
  view: ({ attrs: { app, selected } }) => {
    const chat = app.chat!;
    const rooms = chat.rooms();
    const invites = rooms.filter((r) => r.membership === 'invite');
    const dms = rooms.filter((r) => r.membership === 'join' && r.kind === 'dm');
    const groups = rooms.filter((r) => r.membership === 'join' && r.kind === 'group');
    const section = (title: string, list: RoomSummary[], action?: m.Children) => m('section', { 'aria-label': title }, [
      m('h2.section-title', [m('span', title), action]),
      list.length ? m('ul.rooms', list.map((r) => roomItem(app, r, r.roomId === selected))) : m('p.empty', 'Nothing here yet'),
    ]);
    const me = chat.profile();
    return m('nav.sidebar', { 'aria-label': 'Chats' }, [
      m('header.sidebar-head', [m('span.logo', 'Whisper'), m('span.sync', { title: `sync: ${chat.syncState ?? 'starting'}`, class: chat.syncState === 'ERROR' || chat.syncState === 'RECONNECTING' ? 'offline' : '' })]),
      m('.sidebar-scroll', [
        invites.length > 0 && section('Invites', invites),
        section('Direct messages', dms, m('button.icon[type=button]', { 'aria-label': 'Start a direct message', title: 'Start a direct message', onclick: () => { app.dialog = { kind: 'dm' }; } }, icon('plus', 16))),
        section('Group chats', groups, m('button.icon[type=button]', { 'aria-label': 'Create a group chat', title: 'Create a group chat', onclick: () => { app.dialog = { kind: 'group' }; } }, icon('plus', 16))),
      ]),
      m('footer.user-panel', [
        avatar(app.media, me.displayName, me.avatarMxc, 32),
        m('.who', [m('span.display', me.displayName), m('small.mxid', chat.userId)]),
        m(m.route.Link, { href: '/settings', class: 'icon', 'aria-label': 'Settings', title: 'Settings' }, icon('settings')),
      ]),
    ]);
  },
};
