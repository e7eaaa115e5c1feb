/** An open chat: header (invite, search), the scrolling timeline, typing line, uploads, composer; a voice channel's stage beside its chat. */
import m from 'mithril';
import type { MatrixEvent } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import { ChatState, type SearchHit } from '../state/chat.ts';
import { isVoiceChannel } from '../state/voiceRoster.ts';
import { icon } from './icons.ts';
import { MessageView, timeOf } from './message.ts';
import { VoicePanel } from './voicePanel.ts';
import { encryptionBadge } from './encryption.ts';

interface Attrs { app: AppModel; roomId: string }

/** Scroll-back starts when the reader is this close to the top. */
const LOAD_MARGIN_PX = 400;

function Timeline(): m.Component<Attrs> {
  let el: HTMLElement | undefined;
  let atBottom = true;
  let anchor: { height: number; top: number } | undefined;
  let roomId = '';
  /** Read up to here when the chat was opened: a "New" line follows it. */
  let newAfter: string | undefined;

  const maybeLoadOlder = (app: AppModel) => {
    if (!el) return;
    const chat = app.chat!;
    if (el.scrollTop < LOAD_MARGIN_PX && chat.hasMoreHistory(roomId) && !chat.isLoadingOlder(roomId)) {
      anchor = { height: el.scrollHeight, top: el.scrollTop };
      void chat.loadOlder(roomId);
    }
  };
  const settle = (app: AppModel) => {
    if (!el) return;
    if (anchor && !app.chat!.isLoadingOlder(roomId)) {
      // Keep the reader's place when older messages are put above it.
      el.scrollTop = el.scrollHeight - anchor.height + anchor.top;
      anchor = undefined;
    } else if (atBottom) {
      el.scrollTop = el.scrollHeight;
    }
    if (atBottom && document.hasFocus()) void app.chat!.markRead(roomId);
    // A short history may not fill the view: keep loading until it does.
    if (el.scrollHeight <= el.clientHeight + LOAD_MARGIN_PX) maybeLoadOlder(app);
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
    view: ({ attrs: { app, roomId: id } }) => {
      const chat = app.chat!;
      const composer = app.composer(id);
      const items = chat.timeline(id);
      return m('.timeline', {
        role: 'log',
        'aria-label': 'Messages',
        'aria-live': 'polite',
        tabindex: 0,
        onscroll: (e: Event) => {
          const t = e.target as HTMLElement;
          atBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
          maybeLoadOlder(app);
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
              key: item.key, app, event: item.event, continuation: item.continuation,
              onReply: (ev: MatrixEvent) => { composer.replyTo = ev; composer.editing = undefined; focusComposer(); },
              onEdit: (ev: MatrixEvent) => { composer.editing = ev; composer.replyTo = undefined; composer.text = ChatState.bodyOf(ev); focusComposer(); },
            })),
      ]);
    },
  };
}

function focusComposer(): void {
  requestAnimationFrame(() => (document.getElementById('composer-input') as HTMLTextAreaElement | null)?.focus());
}

async function imageSize(file: File): Promise<{ w?: number; h?: number }> {
  if (!file.type.startsWith('image/')) return {};
  try {
    const bmp = await createImageBitmap(file);
    const size = { w: bmp.width, h: bmp.height };
    bmp.close();
    return size;
  } catch {
    return {};
  }
}

const Composer: m.Component<Attrs> = {
  view: ({ attrs: { app, roomId } }) => {
    const chat = app.chat!;
    const c = app.composer(roomId);
    const room = chat.room(roomId);
    const send = async () => {
      const text = c.text.trim();
      if (!text) return;
      const { editing, replyTo } = c;
      c.text = '';
      c.editing = undefined;
      c.replyTo = undefined;
      chat.setTyping(roomId, false);
      if (editing) await chat.edit(editing, text);
      else await chat.sendText(roomId, text, replyTo);
    };
    const editLast = () => {
      const last = [...chat.timeline(roomId)].reverse().find((i) => i.kind === 'message' && i.event.getSender() === chat.userId && !i.event.isRedacted());
      if (last && last.kind === 'message') {
        c.editing = last.event;
        c.text = ChatState.bodyOf(last.event);
      }
    };
    const attach = async (files: FileList | null) => {
      for (const file of Array.from(files ?? [])) void chat.sendFile(roomId, file, file.name, await imageSize(file)).catch(() => {});
    };
    const target = c.editing ?? c.replyTo;
    return m('.composer-wrap', [
      target && m('.composer-context', { role: 'status' }, [
        m('span', c.editing ? 'Editing message' : ['Replying to ', m('strong', chat.displayName(target.getSender()!, room))]),
        m('button.icon[type=button]', { 'aria-label': c.editing ? 'Cancel edit' : 'Cancel reply', onclick: () => { if (c.editing) c.text = ''; c.editing = undefined; c.replyTo = undefined; } }, icon('close')),
      ]),
      m('form.composer', { onsubmit: (e: Event) => { e.preventDefault(); void send(); } }, [
        m('label.icon.attach', { title: 'Attach a file' }, [
          icon('plus', 20),
          m('input.visually-hidden[type=file][multiple]', { 'aria-label': 'Attach files', onchange: (e: any) => { void attach(e.target.files); e.target.value = ''; } }),
        ]),
        m('textarea#composer-input', {
          rows: 1,
          value: c.text,
          placeholder: `Message ${room?.name ?? ''}`,
          'aria-label': c.editing ? 'Edit message' : `Message ${room?.name ?? ''}`,
          oninput: (e: any) => {
            // The textarea already shows what was typed: redraw only when the composer's look changes.
            const wasEmpty = !c.text;
            c.text = e.target.value;
            if (wasEmpty === !c.text) e.redraw = false;
            chat.setTyping(roomId, c.text.length > 0);
          },
          onkeydown: (e: KeyboardEvent) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void send(); }
            else if (e.key === 'ArrowUp' && !c.text) { e.preventDefault(); editLast(); }
            else if (e.key === 'Escape') { if (c.editing) c.text = ''; c.editing = undefined; c.replyTo = undefined; }
          },
          onpaste: (e: ClipboardEvent) => { if (e.clipboardData?.files.length) { e.preventDefault(); void attach(e.clipboardData.files); } },
        }),
        m('button.primary.send[type=submit]', { 'aria-label': 'Send' }, c.editing ? 'Save' : 'Send'),
      ]),
    ]);
  },
};

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
      const uploads = chat.uploads.filter((u) => u.roomId === roomId);
      const members = room.getJoinedMembers();
      const voice = isVoiceChannel(room);
      return m('section.room-view', { 'aria-label': room.name, class: voice ? 'voice-room' : '' }, [
        m('header.room-head', [
          voice && icon('speaker', 20),
          m('h1', room.name),
          encryptionBadge(app, room),
          m('span.members-count', `${members.length} member${members.length === 1 ? '' : 's'}`),
          m('.spacer'),
          m('button.icon[type=button]', { 'aria-label': 'Invite people', title: 'Invite people', onclick: () => { app.dialog = { kind: 'invite', roomId }; } }, icon('invite')),
          m('button.icon[type=button]', { 'aria-label': 'Search messages', 'aria-pressed': String(searching), title: 'Search', onclick: () => { searching = !searching; } }, icon('search')),
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
              for (const file of Array.from(e.dataTransfer.files)) void imageSize(file).then((size) => chat.sendFile(roomId, file, file.name, size)).catch(() => {});
            },
          }, [
            m(Timeline, { app, roomId }),
            m('.typing', { 'aria-live': 'polite' }, typing.length ? `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…` : ''),
            uploads.map((u) => m('.upload', { key: u.id }, [
              m('span.name', u.name),
              m('progress', { max: u.total || 1, value: u.loaded, 'aria-label': `uploading ${u.name}` }),
              u.error ? [m('span.error', u.error), m('button.icon[type=button]', { 'aria-label': 'Dismiss', onclick: () => chat.dismissUpload(u.id) }, '✕')] : m('span.pct', `${Math.round((u.loaded / (u.total || 1)) * 100)}%`),
            ])),
            m(Composer, { app, roomId }),
          ]),
          searching && m(SearchPanel, { app, roomId, onClose: () => { searching = false; } }),
        ]),
      ]);
    },
  };
}
