/**
 * Turns a room's timeline events into what the timeline view draws: day separators, messages
 * grouped under one header when the same sender posts again within a few minutes, edits
 * applied, relation-only events (edits, reactions) folded into the message they change.
 */
import { EventType, MatrixEvent, MsgType, RelationType } from 'matrix-js-sdk';

/** Consecutive messages from one sender within this gap share one header. */
export const GROUP_GAP_MS = 7 * 60 * 1000;

export type TimelineItem =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; event: MatrixEvent; continuation: boolean }
  | { kind: 'notice'; key: string; event: MatrixEvent; text: string };

export interface ReactionSummary {
  key: string;
  count: number;
  /** The user's own reaction event, if they reacted with this key (to take it back). */
  mine?: MatrixEvent;
  senders: string[];
}

function dayKey(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayLabel(ts: number, now = Date.now()): string {
  const key = dayKey(ts);
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(now - 86_400_000)) return 'Yesterday';
  return new Date(ts).toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/**
 * The message `ev` replies to, as a reader sees it. A thread reply's `m.in_reply_to` with
 * `is_falling_back` is only there for clients without threads (spec): not a reply to show.
 */
export function shownReplyId(ev: MatrixEvent): string | undefined {
  const relation = ev.getWireContent()['m.relates_to'] as { rel_type?: string; is_falling_back?: boolean } | undefined;
  if (relation?.rel_type === RelationType.Thread && relation.is_falling_back) return undefined;
  return ev.replyEventId;
}

/** Events that only change another event: drawn as part of it, never on their own. */
export function isFoldedRelation(ev: MatrixEvent): boolean {
  if (ev.getType() === EventType.Reaction) return true;
  return ev.isRelation(RelationType.Replace);
}

/** An in-room verification request: its body is a fallback for clients without verification; drawn as a line instead. */
function isVerificationRequest(ev: MatrixEvent): boolean {
  return ev.getType() === EventType.RoomMessage && ev.getContent().msgtype === MsgType.KeyVerificationRequest;
}

function isMessage(ev: MatrixEvent): boolean {
  const t = ev.getType();
  if (isVerificationRequest(ev)) return false;
  return t === EventType.RoomMessage || t === EventType.Sticker || (t === EventType.RoomMessageEncrypted);
}

/** One line for state changes worth showing (joins, leaves, renames). */
export function describeStateEvent(ev: MatrixEvent, nameOf: (userId: string) => string): string | undefined {
  const who = nameOf(ev.getSender() ?? '');
  switch (ev.getType()) {
    case EventType.RoomMember: {
      const target = nameOf(ev.getStateKey() ?? '');
      const now = ev.getContent().membership;
      const before = ev.getPrevContent().membership;
      if (now === 'join' && before !== 'join') return `${target} joined`;
      if (now === 'join' && before === 'join') return undefined; // profile change
      if (now === 'invite') return `${who} invited ${target}`;
      if (now === 'leave' && ev.getSender() === ev.getStateKey()) return before === 'invite' ? `${target} declined the invite` : `${target} left`;
      if (now === 'leave') return `${who} removed ${target}`;
      if (now === 'ban') return `${who} banned ${target}`;
      return undefined;
    }
    case EventType.RoomName:
      return ev.getContent().name ? `${who} named the chat "${ev.getContent().name}"` : undefined;
    case EventType.RoomTopic:
      return `${who} set the topic`;
    case EventType.RoomCreate:
      return `${who} created the chat`;
    case EventType.RoomMessage:
      return isVerificationRequest(ev) ? `${who} asked to verify ${nameOf(String(ev.getContent().to))}` : undefined;
    default:
      return undefined;
  }
}

export function buildTimeline(events: readonly MatrixEvent[], nameOf: (userId: string) => string = (u) => u, now = Date.now()): TimelineItem[] {
  const items: TimelineItem[] = [];
  let lastDay = '';
  let last: MatrixEvent | undefined;
  let previous: MatrixEvent | undefined;
  for (const ev of events) {
    if (isFoldedRelation(ev)) continue;
    const before = previous;
    previous = ev;
    // "created the chat" already says the creator is in it.
    if (before?.getType() === EventType.RoomCreate && ev.getType() === EventType.RoomMember && ev.getStateKey() === before.getSender()) continue;
    const ts = ev.getTs();
    const day = dayKey(ts);
    const message = isMessage(ev);
    let text: string | undefined;
    if (!message) {
      text = describeStateEvent(ev, nameOf);
      if (!text) continue;
    }
    if (day !== lastDay) {
      items.push({ kind: 'day', key: `day-${day}`, label: dayLabel(ts, now) });
      lastDay = day;
      last = undefined;
    }
    const key = ev.getId() ?? ev.getTxnId() ?? `${ts}`;
    if (message) {
      const continuation = !!last && last.getSender() === ev.getSender() && ts - last.getTs() < GROUP_GAP_MS
        && !shownReplyId(ev);
      items.push({ kind: 'message', key, event: ev, continuation });
      last = ev;
    } else {
      items.push({ kind: 'notice', key, event: ev, text: text! });
      last = undefined;
    }
  }
  return items;
}
