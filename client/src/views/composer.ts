/**
 * The message box: text (Enter sends, Shift+Enter a new line, Up edits the last own message,
 * Escape cancels), attachments (picker, paste) with their upload progress, the reply/edit
 * context line. The room's own composer, or a thread's (then replies and files go into that thread).
 */
import m from 'mithril';
import type { MatrixEvent } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import { ChatState } from '../state/chat.ts';
import { icon } from './icons.ts';

interface Attrs { app: AppModel; roomId: string; threadId?: string }

/** The id of a composer's text box (the skip link and the keyboard jump to the room's). */
export const composerInputId = (threadId?: string) => (threadId ? 'thread-composer-input' : 'composer-input');

export function focusComposer(threadId?: string): void {
  requestAnimationFrame(() => (document.getElementById(composerInputId(threadId)) as HTMLTextAreaElement | null)?.focus());
}

/** Where a composer's draft is kept: per room, and per thread. */
export const composerKey = (roomId: string, threadId?: string) => (threadId ? `${roomId}|thread|${threadId}` : roomId);

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

/** Sends files (picked, pasted or dropped) to the room, or to a thread of it; progress shows above that composer. */
export async function attachFiles(app: AppModel, roomId: string, files: FileList | null | undefined, threadId?: string): Promise<void> {
  for (const file of Array.from(files ?? [])) void app.chat!.sendFile(roomId, file, file.name, await imageSize(file), threadId).catch(() => {});
}

export const Composer: m.Component<Attrs> = {
  view: ({ attrs: { app, roomId, threadId } }) => {
    const chat = app.chat!;
    const c = app.composer(composerKey(roomId, threadId));
    const room = chat.room(roomId);
    const label = threadId ? 'Reply in thread' : `Message ${room?.name ?? ''}`;
    const send = async () => {
      const text = c.text.trim();
      if (!text) return;
      const { editing, replyTo } = c;
      c.text = '';
      c.editing = undefined;
      c.replyTo = undefined;
      chat.setTyping(roomId, false);
      if (editing) await chat.edit(editing, text);
      else if (threadId) await chat.threads.send(roomId, threadId, text, replyTo);
      else await chat.sendText(roomId, text, replyTo);
    };
    const editLast = () => {
      const mine = (ev: MatrixEvent) => ev.getSender() === chat.userId && !ev.isRedacted();
      const events = threadId
        ? chat.threads.replies(roomId, threadId)
        : chat.timeline(roomId).flatMap((i) => (i.kind === 'message' ? [i.event] : []));
      const last = [...events].reverse().find(mine);
      if (last) {
        c.editing = last;
        c.text = ChatState.bodyOf(last);
      }
    };
    const attach = (files: FileList | null) => attachFiles(app, roomId, files, threadId);
    const target = c.editing ?? c.replyTo;
    const uploads = chat.uploads.filter((u) => u.roomId === roomId && u.threadId === threadId);
    return m('.composer-wrap', [
      uploads.map((u) => m('.upload', { key: u.id }, [
        m('span.name', u.name),
        m('progress', { max: u.total || 1, value: u.loaded, 'aria-label': `uploading ${u.name}` }),
        u.error ? [m('span.error', u.error), m('button.icon[type=button]', { 'aria-label': 'Dismiss', onclick: () => chat.dismissUpload(u.id) }, '✕')] : m('span.pct', `${Math.round((u.loaded / (u.total || 1)) * 100)}%`),
      ])),
      target && m('.composer-context', { role: 'status' }, [
        m('span', c.editing ? 'Editing message' : ['Replying to ', m('strong', chat.displayName(target.getSender()!, room))]),
        m('button.icon[type=button]', { 'aria-label': c.editing ? 'Cancel edit' : 'Cancel reply', onclick: () => { if (c.editing) c.text = ''; c.editing = undefined; c.replyTo = undefined; } }, icon('close')),
      ]),
      m('form.composer', { onsubmit: (e: Event) => { e.preventDefault(); void send(); } }, [
        m('label.icon.attach', { title: 'Attach a file' }, [
          icon('plus', 20),
          m('input.visually-hidden[type=file][multiple]', { 'aria-label': 'Attach files', onchange: (e: any) => { void attach(e.target.files); e.target.value = ''; } }),
        ]),
        m('textarea', {
          id: composerInputId(threadId),
          rows: 1,
          value: c.text,
          placeholder: label,
          'aria-label': c.editing ? 'Edit message' : label,
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
        m('button.primary.send[type=submit]', { 'aria-label': threadId ? 'Send in thread' : 'Send' }, c.editing ? 'Save' : 'Send'),
      ]),
    ]);
  },
};
