/** The room's threads in the side panel, the most recently active first, with their unread counts. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { ChatState } from '../state/chat.ts';
import { icon } from './icons.ts';
import { timeOf } from './message.ts';

interface Attrs { app: AppModel; roomId: string; onOpen: (rootId: string) => void; onClose: () => void }

export const ThreadListPanel: m.Component<Attrs> = {
  oninit: ({ attrs }) => void attrs.app.chat!.threads.loadList(attrs.roomId).catch(() => {}),
  view: ({ attrs: { app, roomId, onOpen, onClose } }) => {
    const chat = app.chat!;
    const room = chat.room(roomId);
    const threads = chat.threads.list(roomId);
    return m('aside.thread-list-panel', { 'aria-label': 'Threads' }, [
      m('header.thread-head', [
        m('h2', 'Threads'),
        m('.spacer'),
        m('button.icon[type=button]', { 'aria-label': 'Close threads', title: 'Close', onclick: onClose }, icon('close')),
      ]),
      chat.threads.isListLoading(roomId) && !threads.length ? m('p.hint.thread-loading', { role: 'status' }, 'Loading threads…')
        : !threads.length && m('p.hint.thread-loading', 'No threads yet. Start one from a message: "Reply in thread".'),
      m('ol.thread-list', threads.map((t) => {
        const root = chat.threads.root(roomId, t.rootId);
        const who = root ? chat.displayName(root.getSender()!, room) : '';
        const replies = `${t.count} ${t.count === 1 ? 'reply' : 'replies'}`;
        return m('li', { key: t.rootId }, m('button.thread-entry[type=button]', {
          'aria-label': `Thread by ${who}: ${root ? ChatState.bodyOf(root) : ''}, ${replies}${t.unread ? `, ${t.unread} unread` : ''}`,
          onclick: () => onOpen(t.rootId),
        }, [
          m('header', [m('strong', who), root && m('time', timeOf(root.getTs()))]),
          m('p.root', root ? ChatState.bodyOf(root).slice(0, 140) : ''),
          m('footer', [
            m('span.count', replies),
            t.unread > 0 && m('span.badge', { class: t.highlight ? 'mention' : '' }, t.unread),
            t.last && m('span.last', [m('strong', chat.displayName(t.last.getSender()!, room)), ' ', ChatState.bodyOf(t.last).slice(0, 80)]),
          ]),
        ]));
      })),
    ]);
  },
};
