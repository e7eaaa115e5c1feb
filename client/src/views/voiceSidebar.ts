/**
 * The sidebar's voice parts: the voice channels with who is in each call under them (room
 * state, visible without joining; clicking a channel joins its call), and the "Voice connected"
 * bar with connection quality and disconnect, plus mute and deafen for the user panel.
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { RoomSummary } from '../state/chat.ts';
import { callMembers } from '../state/voiceRoster.ts';
import { avatar } from './avatar.ts';
import { icon } from './icons.ts';
import { roomHref } from './routes.ts';

const QUALITY_TEXT = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection', unknown: 'Connecting' } as const;

function channelItem(app: AppModel, r: RoomSummary, selected: boolean): m.Vnode {
  const chat = app.chat!;
  const voice = app.voice!;
  const room = chat.room(r.roomId);
  const members = room ? callMembers(room) : [];
  const mine = voice.roomId === r.roomId;
  const label = `${r.name}, voice channel, ${members.length ? `${members.length} in the call` : 'nobody in the call'}${mine ? ', connected' : ''}`;
  return m('li.voice-channel', { key: r.roomId }, [
    m(m.route.Link, {
      href: roomHref(r.roomId),
      class: `room${selected ? ' selected' : ''}${mine ? ' connected' : ''}${r.unread ? ' unread' : ''}`,
      'aria-current': selected ? 'page' : undefined,
      'aria-label': label,
      'data-room-id': r.roomId,
      // Opening a voice channel joins its call, as in Discord; the chat beside it stays readable.
      onclick: () => void voice.join(r.roomId),
    }, [icon('speaker', 20), m('span.name', r.name), r.unread > 0 && m('span.badge', { 'aria-label': `${r.unread} unread` }, String(r.unread))]),
    members.length > 0 && m('ul.call-roster', { 'aria-label': `In the call in ${r.name}` }, members.map((p) => {
      const name = chat.displayName(p.userId, room);
      const speaking = mine && voice.speaking.has(p.userId);
      return m('li.call-member', { key: p.userId, 'data-user-id': p.userId, class: speaking ? 'speaking' : '' }, [
        m('span.ring', avatar(app.media, name, room?.getMember(p.userId)?.getMxcAvatarUrl() ?? undefined, 20)),
        m('span.name', name),
        p.streams.length > 0 && m('span.live-badge', 'LIVE'),
        p.muted && m('span.state-icon', { title: 'Muted', 'aria-label': 'muted' }, icon('micOff', 14)),
        p.deafened && m('span.state-icon', { title: 'Deafened', 'aria-label': 'deafened' }, icon('headphonesOff', 14)),
      ]);
    })),
  ]);
}

export function voiceChannelsSection(app: AppModel, rooms: RoomSummary[], selected: string | undefined): m.Vnode {
  const channels = rooms.filter((r) => r.membership === 'join' && r.kind === 'voice');
  return m('section', { 'aria-label': 'Voice channels' }, [
    m('h2.section-title', [
      m('span', 'Voice channels'),
      m('button.icon[type=button]', { 'aria-label': 'Create a voice channel', title: 'Create a voice channel', onclick: () => { app.dialog = { kind: 'voice' }; } }, icon('plus', 16)),
    ]),
    channels.length ? m('ul.rooms', channels.map((r) => channelItem(app, r, r.roomId === selected))) : m('p.empty', 'No voice channels yet'),
  ]);
}

/** Shown above the user panel while in a call. */
export function voiceConnectedBar(app: AppModel): m.Children {
  const voice = app.voice!;
  if (!voice.roomId) return voice.error ? m('p.error.voice-error[role=alert]', voice.error) : null;
  const room = app.chat!.room(voice.roomId);
  const q = voice.quality;
  const detail = [q.rttMs !== undefined ? `${q.rttMs} ms` : '', q.lossPct !== undefined ? `${q.lossPct.toFixed(1)}% loss` : ''].filter(Boolean).join(', ');
  const status = voice.status === 'connected' ? 'Voice connected' : voice.status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return m('.voice-bar', { role: 'region', 'aria-label': 'Voice connection' }, [
    m('span.quality', { class: q.level, title: `${QUALITY_TEXT[q.level]}${detail ? ` (${detail})` : ''}`, role: 'img', 'aria-label': `${QUALITY_TEXT[q.level]}${detail ? `, ${detail}` : ''}` }, icon('signal', 18)),
    m('.voice-bar-text', [
      m('strong', { class: voice.status === 'connected' ? 'ok' : '', role: 'status' }, status),
      m(m.route.Link, { href: roomHref(voice.roomId), class: 'voice-bar-room' }, room?.name ?? 'Voice channel'),
    ]),
    m('button.icon.danger[type=button]', { 'aria-label': 'Disconnect', title: 'Disconnect', onclick: () => void voice.leave() }, icon('phoneOff', 18)),
  ]);
}

/** Mute and deafen, always at hand in the user panel (before joining they set how you join). */
export function muteDeafenButtons(app: AppModel): m.Children {
  const voice = app.voice!;
  return [
    m('button.icon.toggle[type=button]', {
      'aria-label': 'Mute', 'aria-pressed': String(voice.muted), title: voice.muted ? 'Unmute' : 'Mute', class: voice.muted ? 'off' : '',
      onclick: () => void voice.toggleMute(),
    }, icon(voice.muted ? 'micOff' : 'mic')),
    m('button.icon.toggle[type=button]', {
      'aria-label': 'Deafen', 'aria-pressed': String(voice.deafened), title: voice.deafened ? 'Undeafen' : 'Deafen', class: voice.deafened ? 'off' : '',
      onclick: () => void voice.toggleDeafen(),
    }, icon(voice.deafened ? 'headphonesOff' : 'headphones')),
  ];
}
