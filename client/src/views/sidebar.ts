/** The left column: invites, DMs, group chats and voice channels with unread and mention badges; the voice bar and user panel. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { RoomSummary } from '../state/chat.ts';
import { avatar } from './avatar.ts';
import { Bell } from './bell.ts';
import { icon } from './icons.ts';
import { roomHref } from './routes.ts';
import { muteDeafenButtons, voiceChannelsSection, voiceConnectedBar } from './voiceSidebar.ts';

interface Attrs { app: AppModel; selected?: string }

export { roomHref };

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
    const friendRequests = rooms.filter((r) => r.membership === 'invite' && r.friendRequest);
    const invites = rooms.filter((r) => r.membership === 'invite' && !r.friendRequest);
    const dms = rooms.filter((r) => r.membership === 'join' && r.kind === 'dm');
    const groups = rooms.filter((r) => r.membership === 'join' && r.kind === 'group');
    const section = (title: string, list: RoomSummary[], action?: m.Children) => m('section', { 'aria-label': title }, [
      m('h2.section-title', [m('span', title), action]),
      list.length ? m('ul.rooms', list.map((r) => roomItem(app, r, r.roomId === selected))) : m('p.empty', 'Nothing here yet'),
    ]);
    const me = chat.profile();
    const route = m.route.get() ?? '/';
    const onFriends = route === '/' || route.startsWith('/friends');
    return m('nav.sidebar', { 'aria-label': 'Chats' }, [
      m('header.sidebar-head', [m('span.logo', 'Whisper'), m('.spacer'), m(Bell, { app }), m('span.sync', { title: `sync: ${chat.syncState ?? 'starting'}`, class: chat.syncState === 'ERROR' || chat.syncState === 'RECONNECTING' ? 'offline' : '' })]),
      m('.sidebar-scroll', [
        m(m.route.Link, { href: '/friends/online', class: `room friends-link${onFriends ? ' selected' : ''}`, 'aria-current': onFriends ? 'page' : undefined }, [
          icon('friends', 20), m('span.name', 'Friends'),
          chat.friends.incoming.length > 0 && m('span.badge', { 'aria-label': `${chat.friends.incoming.length} friend requests` }, String(chat.friends.incoming.length)),
        ]),
        friendRequests.length > 0 && m('section', { 'aria-label': 'Friend requests' }, [
          m('h2.section-title', m('span', 'Friend requests')),
          m('ul.rooms', friendRequests.map((r) => m('li', m(m.route.Link, {
            href: '/friends/pending', class: 'room unread friend-request', 'data-room-id': r.roomId,
            'aria-label': `Friend request from ${r.inviter ? chat.displayName(r.inviter, chat.room(r.roomId)) : r.name}`,
          }, [avatar(app.media, r.name, r.avatarMxc, 32), m('span.name', r.inviter ? chat.displayName(r.inviter, chat.room(r.roomId)) : r.name), m('span.badge.new', 'REQUEST')])))),
        ]),
        invites.length > 0 && section('Invites', invites),
        section('Direct messages', dms, m('button.icon[type=button]', { 'aria-label': 'Start a direct message', title: 'Start a direct message', onclick: () => { app.dialog = { kind: 'dm' }; } }, icon('plus', 16))),
        section('Group chats', groups, m('button.icon[type=button]', { 'aria-label': 'Create a group chat', title: 'Create a group chat', onclick: () => { app.dialog = { kind: 'group' }; } }, icon('plus', 16))),
        voiceChannelsSection(app, rooms, selected),
      ]),
      voiceConnectedBar(app),
      m('footer.user-panel', [
        avatar(app.media, me.displayName, me.avatarMxc, 32),
        m('.who', [m('span.display', me.displayName), m('small.mxid', chat.userId)]),
        muteDeafenButtons(app),
        m(m.route.Link, { href: '/settings', class: 'icon', 'aria-label': 'Settings', title: 'Settings' }, icon('settings')),
      ]),
    ]);
  },
};
