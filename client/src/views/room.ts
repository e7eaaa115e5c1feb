/**
 * An open chat: header (invite, search), the scrolling timeline, typing line, uploads, composer,
 * and a side panel (search, or a thread); a voice channel's stage beside its chat. The timeline
 * draws a window of the room's history (state/roomWindow.ts): scrolling near either end moves
 * the window, keeping the reader's place.
 */
import m from 'mithril';
import type { MatrixEvent } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import { ChatState, type SearchHit } from '../state/chat.ts';
import { isVoiceChannel } from '../state/voiceRoster.ts';
import { attachFiles, Composer, composerKey, focusComposer } from './composer.ts';
import { icon } from './icons.ts';
import { MessageView, timeOf } from './message.ts';
import { ThreadPanel } from './thread.ts';
import { ThreadListPanel } from './threadList.ts';
import { VoicePanel } from './voicePanel.ts';
import { encryptionBadge } from './encryption.ts';
import { dmVerification } from './verification.ts';

interface Attrs { app: AppModel; roomId: string }

/** The window moves when the reader is this close to its top or bottom. */
const LOAD_MARGIN_PX = 400;

interface TimelineAttrs extends Attrs { onThread: (rootId: string) => void }

function Timeline(): m.Component<TimelineAttrs> {
  let el: HTMLElement | undefined;
  let atBottom = true;
  /**
   * The message the reader looks at, and how far below the top of the view it was, while the
   * window moves: put back there after each redraw until the move is done.
   */
  let anchor: { id: string; top: number; done: boolean } | undefined;
  let roomId = '';
  /** Read up to here when the chat was opened: a "New" line follows it. */
  let newAfter: string | undefined;

  const captureAnchor = (): typeof anchor => {
    if (!el) return undefined;
    const top = el.getBoundingClientRect().top;
    for (const node of el.querySelectorAll<HTMLElement>('article.message[data-event-id]')) {
      const box = node.getBoundingClientRect();
      if (box.bottom > top) return { id: node.dataset.eventId!, top: box.top - top, done: false };
    }
    return undefined;
  };
  const restoreAnchor = () => {
    if (!el || !anchor) return;
    const node = el.querySelector<HTMLElement>(`article.message[data-event-id="${CSS.escape(anchor.id)}"]`);
    if (!node) return;
    const delta = node.getBoundingClientRect().top - el.getBoundingClientRect().top - anchor.top;
    if (delta) el.scrollTop += delta;
  };
  /** Moves the window when the reader nears its top (older) or its bottom (newer, after going far back). */
  const maybeMove = (app: AppModel) => {
    if (!el || anchor) return;
    const chat = app.chat!;
    const nearTop = el.scrollTop < LOAD_MARGIN_PX;
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < LOAD_MARGIN_PX;
    let move: Promise<unknown> | undefined;
    if (nearTop && chat.hasMoreHistory(roomId) && !chat.isLoadingOlder(roomId)) {
      anchor = captureAnchor();
      move = chat.loadOlder(roomId);
    } else if (nearBottom && !chat.isAtLatest(roomId)) {
      anchor = captureAnchor();
      move = chat.loadNewer(roomId);
    }
    const moving = anchor;
    void move?.finally(() => {
      if (moving) moving.done = true;
      m.redraw();
    });
  };
  const settle = (app: AppModel) => {
    if (!el) return;
    const chat = app.chat!;
    if (anchor) {
      restoreAnchor();
      if (anchor.done) anchor = undefined;
    } else if (atBottom && chat.isAtLatest(roomId)) {
      el.scrollTop = el.scrollHeight;
    }
    if (atBottom && chat.isAtLatest(roomId) && document.hasFocus()) void chat.markRead(roomId);
    // A short history may not fill the view: keep loading until it does.
    if (el.scrollHeight <= el.clientHeight + LOAD_MARGIN_PX) maybeMove(app);
  };

  return {
    oninit: (v) => {
      newAfter = v.attrs.app.chat!.unreadMarker(v.attrs.roomId);
    },
    oncreate: (v) => {
      el = v.dom as HTMLElement;
      roomId = v.attrs.roomId;
      settle(v.attrs.app);
    },
    onbeforeupdate: (v) => {
      if (v.attrs.roomId !== roomId) {
        roomId = v.attrs.roomId;
        atBottom = true;
        anchor = undefined;
      }
      return true;
    },
    onupdate: (v) => settle(v.attrs.app),
    view: ({ attrs: { app, roomId: id, onThread } }) => {
      const chat = app.chat!;
      const composer = app.composer(composerKey(id));
      const items = chat.timeline(id);
      const latest = chat.isAtLatest(id);
      return m('.timeline', {
        role: 'log',
        'aria-label': 'Messages',
        'aria-live': 'polite',
        tabindex: 0,
        onscroll: (e: Event) => {
          const t = e.target as HTMLElement;
          atBottom = latest && t.scrollHeight - t.scrollTop - t.clientHeight < 40;
          maybeMove(app);
          (e as any).redraw = false;
          if (atBottom) void chat.markRead(id);
        },
      }, [
        chat.isLoadingOlder(id) ? m('.history-edge', { role: 'status' }, 'Loading older messages…')
          : !chat.hasMoreHistory(id) ? m('.history-edge.start', 'This is the start of the conversation.') : null,
        items.flatMap((item, i) => item.key === newAfter && i < items.length - 1
          ? [item, { kind: 'new' as const, key: 'new-divider' }] : [item]).map((item) => item.kind === 'new'
          ? m('.new-divider', { key: item.key, role: 'separator', 'aria-label': 'New messages' }, m('span', 'New'))
          : item.kind === 'day'
          ? m('.day-separator', { key: item.key, role: 'separator', 'aria-label': item.label }, m('span', item.label))
          : item.kind === 'notice'
            ? m('.state-notice', { key: item.key }, [m('span', item.text), m('time', timeOf(item.event.getTs()))])
            : m(MessageView, {
              key: item.key, app, event: item.event, continuation: item.continuation, onThread,
              onReply: (ev: MatrixEvent) => { composer.replyTo = ev; composer.editing = undefined; focusComposer(); },
              onEdit: (ev: MatrixEvent) => { composer.editing = ev; composer.replyTo = undefined; composer.text = ChatState.bodyOf(ev); focusComposer(); },
            })),
        // Far back in history: the newest messages are not drawn; one click brings them back.
        !latest && m('button.jump-latest[type=button]', {
          onclick: () => { anchor = undefined; atBottom = true; chat.jumpToLatest(id); },
        }, 'Jump to present ↓'),
      ]);
    },
  };
}

function SearchPanel(): m.Component<Attrs & { onClose: () => void }> {
  let term = '';
  let hits: SearchHit[] | undefined;
  let error = '';
  return {
    view: ({ attrs: { app, roomId, onClose } }) => {
      const chat = app.chat!;
      const room = chat.room(roomId);
      return m('aside.search-panel', { 'aria-label': 'Search messages' }, [
        m('form.search-form', { role: 'search', onsubmit: async (e: Event) => {
          e.preventDefault();
          error = '';
          try { hits = await chat.search(term, roomId); } catch (err) { error = (err as Error).message; }
          m.redraw();
        } }, [
          m('input#search-input[type=search]', { value: term, placeholder: 'Search this chat', 'aria-label': 'Search this chat', oninput: (e: any) => { term = e.target.value; }, oncreate: (v) => (v.dom as HTMLElement).focus() }),
          m('button.icon[type=button]', { 'aria-label': 'Close search', onclick: onClose }, icon('close')),
        ]),
        error && m('p.error[role=alert]', error),
        hits && m('p.hint', { role: 'status' }, `${hits.length} result${hits.length === 1 ? '' : 's'}`),
        hits && m('ol.search-results', hits.map((h) => m('li', { key: h.eventId }, [
          m('header', [m('span.sender', chat.displayName(h.sender, room)), m('time', new Date(h.ts).toLocaleString())]),
          m('p', h.body),
        ]))),
      ]);
    },
  };
}

export function RoomView(): m.Component<Attrs> {
  let searching = false;
  /** The thread open in the side panel (its root's id). */
  let thread: string | undefined;
  /** Whether the side panel lists the room's threads. */
  let listing = false;
  return {
    view: ({ attrs }) => {
      const { app, roomId } = attrs;
      const chat = app.chat!;
      const room = chat.room(roomId);
      if (!room) return m('section.room-view.empty-room', m('p', 'This chat is not available.'));
      const membership = room.getMyMembership();
      if (membership === 'invite') {
        const inviter = room.getMember(chat.userId)?.events.member?.getSender();
        return m('section.room-view.invite-screen', { 'aria-label': `Invitation to ${room.name}` }, m('.invite-card', [
          m('h2', room.name),
          m('p', `${inviter ? chat.displayName(inviter, room) : 'Someone'} invited you.`),
          m('.actions', [
            m('button[type=button]', { onclick: async () => { await chat.leave(roomId); m.route.set('/'); } }, 'Decline'),
            m('button.primary[type=button]', { onclick: () => chat.acceptInvite(roomId) }, 'Accept'),
          ]),
        ]));
      }
      const typing = chat.typingUsers(roomId);
      const members = room.getJoinedMembers();
      const voice = isVoiceChannel(room);
      const threadUnread = chat.threads.unreadInThreads(roomId);
      return m('section.room-view', { 'aria-label': room.name, class: voice ? 'voice-room' : '' }, [
        m('header.room-head', [
          voice && icon('speaker', 20),
          m('h1', room.name),
          encryptionBadge(app, room),
          dmVerification(app, room),
          m('span.members-count', `${members.length} member${members.length === 1 ? '' : 's'}`),
          m('.spacer'),
          m('button.icon[type=button]', { 'aria-label': 'Invite people', title: 'Invite people', onclick: () => { app.dialog = { kind: 'invite', roomId }; } }, icon('invite')),
          m('button.icon.threads-button[type=button]', {
            'aria-label': threadUnread.unread ? `Threads, ${threadUnread.unread} unread` : 'Threads', 'aria-pressed': String(listing), title: 'Threads',
            onclick: () => { listing = !listing; if (listing) { searching = false; thread = undefined; } },
          }, [icon('thread'), threadUnread.unread > 0 && m('span.badge', { class: threadUnread.highlight ? 'mention' : '' }, threadUnread.unread)]),
          m('button.icon[type=button]', { 'aria-label': 'Search messages', 'aria-pressed': String(searching), title: 'Search', onclick: () => { searching = !searching; if (searching) { thread = undefined; listing = false; } } }, icon('search')),
          m('button.icon.danger[type=button]', {
            'aria-label': 'Leave this chat', title: 'Leave',
            onclick: async () => { if (confirm(`Leave ${room.name}?`)) { await chat.leave(roomId); m.route.set('/'); } },
          }, icon('leave')),
        ]),
        m('.room-body', [
          voice && m(VoicePanel, { app, roomId }),
          m('.room-main', {
            // Files dropped on the chat are sent to it.
            ondragover: (e: DragEvent) => { if (e.dataTransfer?.types.includes('Files')) { e.preventDefault(); (e as any).redraw = false; } },
            ondrop: (e: DragEvent) => {
              if (!e.dataTransfer?.files.length) return;
              e.preventDefault();
              void attachFiles(app, roomId, e.dataTransfer.files);
            },
          }, [
            m(Timeline, { app, roomId, onThread: (rootId: string) => { thread = rootId; searching = false; listing = false; } }),
            m('.typing', { 'aria-live': 'polite' }, typing.length ? `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…` : ''),
            m(Composer, { app, roomId }),
          ]),
          searching && m(SearchPanel, { app, roomId, onClose: () => { searching = false; } }),
          listing && m(ThreadListPanel, { app, roomId, onOpen: (rootId: string) => { thread = rootId; listing = false; }, onClose: () => { listing = false; } }),
          // Keyed (in a fragment of its own): another thread is a new panel.
          [thread ? m(ThreadPanel, { key: thread, app, roomId, rootId: thread, onClose: () => { thread = undefined; focusComposer(); } }) : null],
        ]),
      ]);
    },
  };
}
