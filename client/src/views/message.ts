/** One message in the timeline: header (unless grouped), reply quote, body, media, reactions, thread summary, actions. */
import m from 'mithril';
import type { MatrixEvent } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import { isBigImage, THUMBNAIL_SIZE } from '../state/attachments.ts';
import { ChatState } from '../state/chat.ts';
import { shownReplyId } from '../state/timeline.ts';
import { avatar } from './avatar.ts';
import { lockedBody } from './encryption.ts';
import { trustedHtml } from './html.ts';
import { icon } from './icons.ts';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

export const timeOf = (ts: number) => new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

function body(app: AppModel, ev: MatrixEvent): m.Children {
  if (ev.isRedacted()) return m('p.body.redacted', 'Message deleted');
  const locked = lockedBody(ev);
  if (locked) return locked;
  const content = ev.getContent();
  const media = app.media!;
  switch (content.msgtype) {
    case 'm.image': {
      // Big pictures are shown from a thumbnail (the server's, or in an encrypted room the sender's); the original is a click away.
      const info = content.info ?? {};
      const big = isBigImage(info);
      const url = content.file
        ? media.url(big && info.thumbnail_file ? info.thumbnail_file : content.file, undefined, big && info.thumbnail_file ? info.thumbnail_info?.mimetype : info.mimetype)
        : media.url(content.url, big ? THUMBNAIL_SIZE : undefined);
      const w = Math.min(info.w ?? 320, 400);
      const h = info.w && info.h ? Math.round((info.h / info.w) * w) : 240;
      return m('figure.media', url
        ? m('img.preview', { src: url, alt: content.body ?? 'image', width: w, height: h })
        : m('.preview.loading', { style: { width: `${w}px`, height: `${h}px` }, 'aria-label': 'loading image' }));
    }
    case 'm.video': {
      const url = media.url(content.file ?? content.url, undefined, content.info?.mimetype);
      return m('figure.media', url ? m('video.preview', { src: url, controls: true, preload: 'metadata', 'aria-label': content.body }) : m('.preview.loading', 'loading video…'));
    }
    case 'm.file':
      // Fetched only when asked for: files may be large.
      return m('p.body.file', m('button.file-link[type=button]', {
        'aria-label': `Download ${content.body}`,
        onclick: () => void media.download(content.file ?? content.url, content.body ?? 'file'),
      }, [icon('attach', 16), ` ${content.body}`, content.info?.size ? m('small', ` ${formatSize(content.info.size)}`) : null]));
    default: {
      const html = content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string' && !shownReplyId(ev)
        ? content.formatted_body : undefined;
      return m('.body', { class: content.msgtype === 'm.notice' ? 'notice' : '' }, [
        html ? trustedHtml(html) : m('p', ChatState.bodyOf(ev)),
        ev.replacingEventId() && m('span.edited', { title: 'edited' }, '(edited)'),
      ]);
    }
  }
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

interface Attrs {
  app: AppModel;
  event: MatrixEvent;
  continuation: boolean;
  onEdit: (ev: MatrixEvent) => void;
  onReply: (ev: MatrixEvent) => void;
  /** Opens the thread rooted at a message (absent inside the thread panel). */
  onThread?: (rootId: string) => void;
}

/** Under a thread's root: how many replies, the latest one, and the thread's unread count. */
function threadSummary(app: AppModel, ev: MatrixEvent, onThread: (rootId: string) => void): m.Children {
  const chat = app.chat!;
  const summary = chat.threads.summary(ev);
  if (!summary) return null;
  const room = chat.room(ev.getRoomId()!);
  const replies = `${summary.count} ${summary.count === 1 ? 'reply' : 'replies'}`;
  const unread = summary.unread ? `, ${summary.unread} unread` : '';
  return m('button.thread-summary[type=button]', {
    'aria-label': `${replies}${unread}: open the thread`,
    onclick: () => onThread(summary.rootId),
  }, [
    icon('thread', 16),
    m('span.count', replies),
    summary.unread > 0 && m('span.badge', { class: summary.highlight ? 'mention' : '' }, summary.unread),
    summary.last && m('span.last', [
      m('strong', chat.displayName(summary.last.getSender()!, room)), ' ',
      summary.last.isRedacted() ? 'Message deleted' : ChatState.bodyOf(summary.last).slice(0, 100),
    ]),
  ]);
}

export function MessageView(): m.Component<Attrs> {
  let picking = false;
  return {
    view: ({ attrs: { app, event: ev, continuation, onEdit, onReply, onThread } }) => {
      const chat = app.chat!;
      const room = chat.room(ev.getRoomId()!);
      const sender = ev.getSender()!;
      const name = chat.displayName(sender, room);
      const mine = sender === chat.userId;
      const sending = !!ev.status;
      const replyTo = chat.replyTarget(ev);
      const reactions = ev.isRedacted() ? [] : chat.reactions(ev);
      const readers = chat.readBy(ev);
      const canEdit = mine && !ev.isRedacted() && (ev.getContent().msgtype === 'm.text' || ev.getContent().msgtype === 'm.emote');
      return m('article.message', {
        class: `${continuation ? 'continuation' : ''}${sending ? ' sending' : ''}${mine ? ' mine' : ''}`,
        'data-event-id': ev.getId(),
        tabindex: 0,
        'aria-label': `${name} at ${timeOf(ev.getTs())}: ${ev.isRedacted() ? 'deleted' : ChatState.bodyOf(ev)}`,
        onkeydown: (e: KeyboardEvent) => {
          if (e.target !== e.currentTarget) return;
          if (e.key === 'r') { e.preventDefault(); onReply(ev); }
          if (e.key === 'e' && canEdit) { e.preventDefault(); onEdit(ev); }
          if (e.key === 't' && onThread && !sending) { e.preventDefault(); onThread(ev.getId()!); }
        },
      }, [
        continuation ? m('span.gutter-time', { 'aria-hidden': 'true' }, timeOf(ev.getTs())) : avatar(app.media, name, room?.getMember(sender)?.getMxcAvatarUrl(), 40),
        m('.content', [
          replyTo && m('.reply-quote', { 'aria-label': `in reply to ${chat.displayName(replyTo.getSender()!, room)}` }, [
            m('span.reply-name', chat.displayName(replyTo.getSender()!, room)), ' ',
            m('span.reply-body', replyTo.isRedacted() ? 'Message deleted' : ChatState.bodyOf(replyTo).slice(0, 140)),
          ]),
          !continuation && m('header', [m('span.sender', name), m('time', { datetime: new Date(ev.getTs()).toISOString() }, timeOf(ev.getTs()))]),
          body(app, ev),
          reactions.length > 0 && m('.reactions', { role: 'group', 'aria-label': 'reactions' }, reactions.map((r) => m('button.reaction[type=button]', {
            class: r.mine ? 'mine' : '',
            'aria-pressed': String(!!r.mine),
            'aria-label': `${r.key} ${r.count}, by ${r.senders.map((s) => chat.displayName(s, room)).join(', ')}`,
            title: r.senders.map((s) => chat.displayName(s, room)).join(', '),
            onclick: () => chat.toggleReaction(ev, r.key),
          }, [r.key, ' ', m('span.count', r.count)]))),
          onThread && !sending && threadSummary(app, ev, onThread),
          readers.length > 0 && m('.read-by', { 'aria-label': `seen by ${readers.map((u) => chat.displayName(u, room)).join(', ')}` },
            `Seen by ${readers.map((u) => chat.displayName(u, room)).join(', ')}`),
        ]),
        !ev.isRedacted() && !sending && m('.actions[role=toolbar]', { 'aria-label': 'message actions' }, [
          m('button.icon[type=button]', { 'aria-label': 'Add reaction', 'aria-expanded': String(picking), title: 'React', onclick: () => { picking = !picking; } }, icon('smile')),
          m('button.icon[type=button]', { 'aria-label': 'Reply', title: 'Reply', onclick: () => onReply(ev) }, icon('reply')),
          onThread && m('button.icon[type=button]', { 'aria-label': 'Open thread', title: 'Reply in thread', onclick: () => onThread(ev.getId()!) }, icon('thread')),
          canEdit && m('button.icon[type=button]', { 'aria-label': 'Edit', title: 'Edit', onclick: () => onEdit(ev) }, icon('edit')),
          mine && m('button.icon.danger[type=button]', { 'aria-label': 'Delete', title: 'Delete', onclick: () => { if (confirm('Delete this message?')) void chat.redact(ev); } }, icon('trash')),
        ]),
        picking && m('.picker[role=menu]', { 'aria-label': 'pick a reaction' }, QUICK_REACTIONS.map((key) => m('button[type=button][role=menuitem]', {
          'aria-label': `react with ${key}`,
          onclick: () => { picking = false; void chat.toggleReaction(ev, key); },
        }, key))),
      ]);
    },
  };
}
