/**
 * The home screen, Discord-style: friends online / all with presence and a Message button,
 * pending requests (accept, decline, cancel), the blocked list, and "Add friend" by username.
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { Friend, FriendRequest, PresenceDot } from '../state/friends.ts';
import { avatar } from './avatar.ts';
import { icon } from './icons.ts';
import { roomHref } from './sidebar.ts';
import { userShield } from './verification.ts';

export type FriendsTab = 'online' | 'all' | 'pending' | 'blocked' | 'add';

interface Attrs { app: AppModel; tab?: FriendsTab }

const PRESENCE_LABEL: Record<PresenceDot, string> = { online: 'Online', idle: 'Idle', offline: 'Offline' };

/** An avatar with the presence dot on its corner. */
export function presenceAvatar(app: AppModel, name: string, mxc: string | undefined, dot: PresenceDot | undefined, size = 36): m.Vnode {
  return m('span.avatar-wrap', [
    avatar(app.media, name, mxc, size),
    dot && m(`span.presence.${dot}`, { title: PRESENCE_LABEL[dot], 'aria-hidden': 'true' }),
  ]);
}

export function FriendsView(): m.Component<Attrs> {
  let addValue = '';
  let status = '';
  let error = '';
  let busy = false;
  let shownTab: FriendsTab | undefined;

  return {
    view: ({ attrs: { app, tab = 'online' } }) => {
      // A message belongs to the tab it was made on.
      if (tab !== shownTab) {
        shownTab = tab;
        status = '';
        error = '';
      }
      const chat = app.chat!;
      const fr = chat.friends;
      const act = async (what: () => Promise<unknown>, done?: string) => {
        error = '';
        status = '';
        busy = true;
        try {
          await what();
          if (done) status = done;
        } catch (err) {
          error = (err as Error).message;
        } finally {
          busy = false;
          m.redraw();
        }
      };
      const name = (x: { user_id: string; displayname?: string }) => x.displayname || x.user_id;
      const openDm = (f: Friend) => act(async () => {
        const joined = f.room_id && chat.room(f.room_id)?.getMyMembership() === 'join';
        const roomId = joined ? f.room_id! : await chat.startDm(f.user_id);
        m.route.set(roomHref(roomId));
      });
      const confirmThen = (question: string, what: () => Promise<unknown>, done: string) => () => {
        if (confirm(question)) void act(what, done);
      };

      const friendRow = (f: Friend) => {
        const dot = fr.presence(f);
        return m('li.person', { key: f.user_id, 'data-user-id': f.user_id }, [
          presenceAvatar(app, name(f), f.avatar_url, dot),
          m('.person-info', [m('strong.person-name', [name(f), ' ', userShield(app, f.user_id)]), m('small', `${PRESENCE_LABEL[dot]} · ${f.user_id}`)]),
          m('.person-actions', [
            m('button.round[type=button]', { 'aria-label': `Message ${name(f)}`, title: 'Message', onclick: () => openDm(f) }, icon('message')),
            m('button.round[type=button]', { 'aria-label': `Remove ${name(f)}`, title: 'Remove friend',
              onclick: confirmThen(`Remove ${name(f)} from your friends?`, () => fr.remove(f.user_id), `${name(f)} is no longer your friend`) }, icon('userMinus')),
            m('button.round.danger[type=button]', { 'aria-label': `Block ${name(f)}`, title: 'Block',
              onclick: confirmThen(`Block ${name(f)}? They will not be able to message you.`, () => fr.block(f.user_id), `${name(f)} is blocked`) }, icon('block')),
          ]),
        ]);
      };
      const requestRow = (r: FriendRequest, incoming: boolean) => m('li.person', { key: `${incoming}:${r.user_id}`, 'data-user-id': r.user_id }, [
        presenceAvatar(app, name(r), r.avatar_url, undefined),
        m('.person-info', [m('strong.person-name', name(r)), m('small', `${incoming ? 'Incoming friend request' : 'Outgoing friend request'} · ${r.user_id}`)]),
        m('.person-actions', incoming ? [
          m('button.round.accept[type=button]', { 'aria-label': `Accept ${name(r)}`, title: 'Accept', onclick: () => act(() => fr.accept(r.user_id), `You and ${name(r)} are now friends`) }, icon('check')),
          m('button.round.danger[type=button]', { 'aria-label': `Decline ${name(r)}`, title: 'Decline', onclick: () => act(() => fr.decline(r.user_id)) }, icon('close')),
        ] : [
          m('button.round.danger[type=button]', { 'aria-label': `Cancel request to ${name(r)}`, title: 'Cancel', onclick: () => act(() => fr.cancel(r.user_id)) }, icon('close')),
        ]),
      ]);

      const online = fr.friends.filter((f) => fr.presence(f) !== 'offline');
      const pendingCount = fr.incoming.length;
      const tabs: [FriendsTab, string][] = [['online', 'Online'], ['all', 'All'], ['pending', 'Pending'], ['blocked', 'Blocked']];
      const list = (title: string, items: m.Children[], empty: string) => [
        m('h2.list-title', `${title} — ${items.length}`),
        items.length ? m('ul.people', items) : m('p.empty-state', empty),
      ];

      let body: m.Children;
      if (tab === 'add') {
        body = m('section.add-friend', { 'aria-labelledby': 'add-friend-title' }, [
          m('h2#add-friend-title', 'Add friend'),
          m('p.hint', 'You can add friends with their Whisper username.'),
          m('form.add-friend-form', { onsubmit: (e: Event) => {
            e.preventDefault();
            const who = addValue.trim();
            if (!who) return;
            void act(async () => {
              const state = await fr.request(who);
              addValue = '';
              status = state === 'accepted' ? `You and ${who} are now friends` : `Friend request sent to ${who}`;
            });
          } }, [
            m('input#add-friend-input', { 'aria-label': 'Username', placeholder: 'Enter a username, like bob or @bob:server', value: addValue, autocomplete: 'off',
              oninput: (e: any) => { addValue = e.target.value; }, oncreate: (v) => (v.dom as HTMLElement).focus() }),
            m('button.primary[type=submit]', { disabled: busy || !addValue.trim() }, 'Send Friend Request'),
          ]),
        ]);
      } else if (tab === 'pending') {
        body = [
          ...list('Incoming', fr.incoming.map((r) => requestRow(r, true)), 'No one has asked yet.'),
          ...list('Outgoing', fr.outgoing.map((r) => requestRow(r, false)), 'No requests waiting on others.'),
        ];
      } else if (tab === 'blocked') {
        body = list('Blocked', fr.blocked.map((b) => m('li.person', { key: b.user_id, 'data-user-id': b.user_id }, [
          presenceAvatar(app, name(b), undefined, undefined),
          m('.person-info', [m('strong.person-name', name(b)), m('small', b.user_id)]),
          m('.person-actions', m('button[type=button]', { 'aria-label': `Unblock ${name(b)}`, onclick: () => act(() => fr.unblock(b.user_id), `${name(b)} is unblocked`) }, 'Unblock')),
        ])), 'You have not blocked anyone.');
      } else {
        const shown = tab === 'online' ? online : fr.friends;
        body = fr.friends.length === 0
          ? m('.empty-home', [
            m('p', 'Start a conversation with a friend.'),
            m('p.hint', 'Add friends by their username; once they accept, they show up here.'),
            m('button.primary[type=button]', { onclick: () => m.route.set('/friends/add') }, 'Add friend'),
          ])
          : list(tab === 'online' ? 'Online' : 'All friends', shown.map(friendRow), tab === 'online' ? 'No friends online right now.' : '');
      }

      return m('section.friends', { 'aria-labelledby': 'friends-title' }, [
        m('header.room-head', [
          icon('friends', 20),
          m('h1#friends-title', 'Friends'),
          m('nav.friend-tabs', { 'aria-label': 'Friends' }, [
            ...tabs.map(([id, label]) => m(m.route.Link, { href: `/friends/${id}`, class: tab === id ? 'active' : '', 'aria-current': tab === id ? 'page' : undefined },
              [label, id === 'pending' && pendingCount > 0 && m('span.badge', { 'aria-label': `${pendingCount} incoming` }, String(pendingCount))])),
            m(m.route.Link, { href: '/friends/add', class: `add${tab === 'add' ? ' active' : ''}` }, 'Add Friend'),
          ]),
        ]),
        m('.friends-body', [
          status && m('p.ok[role=status]', status),
          error && m('p.error[role=alert]', error),
          !fr.loaded ? m('p.hint', 'Loading…') : body,
        ]),
      ]);
    },
  };
}
