/**
 * A thread in the side panel: its root, its replies (live, older ones on request), and a
 * composer that replies in the thread. Reading it to the bottom sends a threaded read receipt,
 * which clears the thread's unread count.
 */
import m from 'mithril';
import type { MatrixEvent } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import { ChatState } from '../state/chat.ts';
import { Composer, composerKey, focusComposer } from './composer.ts';
import { icon } from './icons.ts';
import { MessageView, timeOf } from './message.ts';

interface Attrs { app: AppModel; roomId: string; rootId: string; onClose: () => void }

export function ThreadPanel(): m.Component<Attrs> {
  let el: HTMLElement | undefined;
  let atBottom = true;

  const settle = ({ app, roomId, rootId }: Attrs) => {
    if (!el) return;
    if (atBottom) el.scrollTop = el.scrollHeight;
    if (atBottom && document.hasFocus()) void app.chat!.threads.markRead(roomId, rootId);
  };

  return {
    oninit: ({ attrs }) => {
      attrs.app.chat!.threads.open(attrs.roomId, attrs.rootId);
      focusComposer(attrs.rootId);
    },
    oncreate: (v) => {
      el = (v.dom as HTMLElement).querySelector<HTMLElement>('.thread-scroll') ?? undefined;
      settle(v.attrs);
    },
    onupdate: (v) => settle(v.attrs),
    view: ({ attrs: { app, roomId, rootId, onClose } }) => {
      const chat = app.chat!;
      const threads = chat.threads;
      const root = threads.root(roomId, rootId);
      const items = chat.threadTimeline(roomId, rootId);
      const replies = items.filter((i) => i.kind === 'message').length;
      const composer = app.composer(composerKey(roomId, rootId));
      const handlers = {
        onReply: (ev: MatrixEvent) => { composer.replyTo = ev; composer.editing = undefined; focusComposer(rootId); },
        onEdit: (ev: MatrixEvent) => { composer.editing = ev; composer.replyTo = undefined; composer.text = ChatState.bodyOf(ev); focusComposer(rootId); },
      };
      return m('aside.thread-panel', { 'aria-label': 'Thread', onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape' && !composer.text) onClose(); } }, [
        m('header.thread-head', [
          m('h2', 'Thread'),
          m('.spacer'),
          m('button.icon[type=button]', { 'aria-label': 'Close thread', title: 'Close', onclick: onClose }, icon('close')),
        ]),
        m('.thread-scroll', {
          role: 'log',
          'aria-label': 'Thread messages',
          tabindex: 0,
          onscroll: (e: Event) => {
            const t = e.target as HTMLElement;
            atBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
            (e as any).redraw = false;
          },
        }, [
          root ? m(MessageView, { app, event: root, continuation: false, ...handlers }) : m('p.hint', 'Loading the thread…'),
          m('.thread-count', { role: 'separator' }, m('span', `${replies} ${replies === 1 ? 'reply' : 'replies'}`)),
          threads.isLoading(roomId, rootId) ? m('p.hint.thread-loading', { role: 'status' }, 'Loading replies…')
            : threads.hasOlder(roomId, rootId) && m('button.link.older[type=button]', { onclick: () => { atBottom = false; void threads.loadOlder(roomId, rootId); } }, 'Show earlier replies'),
          m('.thread-replies', items.map((item) => item.kind === 'day'
            ? m('.day-separator', { key: item.key, role: 'separator', 'aria-label': item.label }, m('span', item.label))
            : item.kind === 'notice'
              ? m('.state-notice', { key: item.key }, [m('span', item.text), m('time', timeOf(item.event.getTs()))])
              : m(MessageView, { key: item.key, app, event: item.event, continuation: item.continuation, ...handlers }))),
        ]),
        m(Composer, { app, roomId, threadId: rootId }),
      ]);
    },
  };
}
