/**
 * A voice channel's stage: who is in the call (speaking rings, muted and deafened icons, a
 * per-user volume menu by click, context menu or the menu key), the live streams grid, and the
 * call's controls (mute, deafen, push-to-talk state, go live, voice settings, disconnect).
 * Before joining it shows who is there and a Join button.
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { callMembers, liveStreams, type CallMember } from '../state/voiceRoster.ts';
import { keyLabel } from '../state/voiceSettings.ts';
import { avatar } from './avatar.ts';
import { icon } from './icons.ts';
import { streamsGrid } from './streams.ts';
import { VoiceSettingsForm } from './voiceSettings.ts';

interface Attrs { app: AppModel; roomId: string }

function participant(app: AppModel, roomId: string, p: CallMember, openMenu: string | undefined, setMenu: (u: string | undefined) => void): m.Vnode {
  const chat = app.chat!;
  const voice = app.voice!;
  const room = chat.room(roomId);
  const name = chat.displayName(p.userId, room);
  const me = p.userId === chat.userId;
  const speaking = voice.speaking.has(p.userId);
  const states = [speaking && 'speaking', p.muted && 'muted', p.deafened && 'deafened', p.streams.length > 0 && 'live'].filter(Boolean).join(', ');
  const volume = Math.round(voice.volumeOf(p.userId) * 100);
  const open = openMenu === p.userId;
  // Keyboard users land back on the participant they opened the menu from.
  const closeMenu = (e: Event) => {
    setMenu(undefined);
    ((e.currentTarget as HTMLElement).closest('li.participant')?.querySelector('button.participant-button') as HTMLElement | null)?.focus();
  };
  return m('li.participant', { key: p.userId, class: speaking ? 'speaking' : '', 'data-user-id': p.userId, 'data-speaking': String(speaking), 'data-muted': String(p.muted) }, [
    m('button.participant-button[type=button]', {
      'aria-label': `${name}${me ? ' (you)' : ''}${states ? `, ${states}` : ''}`,
      'aria-haspopup': me ? undefined : 'dialog', 'aria-expanded': me ? undefined : String(open),
      onclick: () => { if (!me) setMenu(open ? undefined : p.userId); },
      oncontextmenu: (e: Event) => { if (!me) { e.preventDefault(); setMenu(p.userId); } },
    }, [
      m('span.ring', avatar(app.media, name, room?.getMember(p.userId)?.getMxcAvatarUrl() ?? undefined, 72)),
      m('span.participant-name', [name, p.streams.length > 0 && m('span.live-badge', 'LIVE')]),
      m('span.participant-icons', [
        p.muted && m('span.state-icon', { title: 'Muted', 'aria-hidden': 'true' }, icon('micOff', 16)),
        p.deafened && m('span.state-icon', { title: 'Deafened', 'aria-hidden': 'true' }, icon('headphonesOff', 16)),
        !me && volume !== 100 && m('small.volume-note', `${volume}%`),
      ]),
    ]),
    open && m('.user-menu[role=dialog]', { 'aria-label': `Options for ${name}`, onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape') closeMenu(e); } }, [
      m('label', { for: `volume-${p.userId}` }, `Volume of ${name}`),
      m('input[type=range][min=0][max=100][step=5]', {
        id: `volume-${p.userId}`, value: volume, 'aria-valuetext': `${volume}%`,
        oncreate: (v: m.VnodeDOM) => (v.dom as HTMLElement).focus(),
        oninput: (e: Event) => voice.setVolume(p.userId, Number((e.target as HTMLInputElement).value) / 100),
      }),
      m('output', `${volume}%`),
      m('button[type=button]', { onclick: closeMenu }, 'Done'),
    ]),
  ]);
}

export function VoicePanel(): m.Component<Attrs> {
  let menuFor: string | undefined;
  let settingsOpen = false;
  return {
    view: ({ attrs: { app, roomId } }) => {
      const chat = app.chat!;
      const voice = app.voice!;
      const room = chat.room(roomId);
      if (!room) return null;
      const members = callMembers(room);
      const streams = liveStreams(room);
      const here = voice.roomId === roomId;
      if (!here) {
        return m('section.voice-stage.lobby', { 'aria-label': 'Voice channel' }, [
          m('.lobby-card', [
            icon('speaker', 40),
            m('h2', room.name),
            m('p', members.length ? `In the call: ${members.map((p) => chat.displayName(p.userId, room)).join(', ')}` : 'Nobody is in the call yet.'),
            voice.error && m('p.error[role=alert]', voice.error),
            m('button.primary.join-call[type=button]', { onclick: () => void voice.join(roomId), disabled: voice.status === 'connecting' && voice.roomId === roomId }, 'Join voice'),
          ]),
          streamsGrid(app, roomId, streams),
        ]);
      }
      // Members from room state, ourselves first even before our own state arrives.
      const me: CallMember = members.find((p) => p.userId === chat.userId) ?? { userId: chat.userId, muted: voice.muted, deafened: voice.deafened, streams: [] };
      const others = members.filter((p) => p.userId !== chat.userId);
      const setMenu = (u: string | undefined) => { menuFor = u; };
      return m('section.voice-stage', { 'aria-label': 'Voice channel' }, [
        voice.status !== 'connected' && m('p.hint[role=status]', voice.status === 'reconnecting' ? 'Reconnecting to the call…' : 'Joining the call…'),
        m('ul.participants', { 'aria-label': 'In the call' }, [me, ...others].map((p) => participant(app, roomId, { ...p, ...(p === me ? { muted: voice.muted, deafened: voice.deafened } : {}) }, menuFor, setMenu))),
        streamsGrid(app, roomId, streams),
        voice.error && m('p.error[role=alert]', voice.error),
        settingsOpen && m('section.card.voice-settings-pop', { 'aria-labelledby': 'call-settings-title' }, [
          m('h2#call-settings-title', 'Voice settings'),
          m(VoiceSettingsForm, { app, idPrefix: 'call' }),
        ]),
        m('.call-controls', { role: 'toolbar', 'aria-label': 'Call controls' }, [
          m('button.round.toggle[type=button]', { 'aria-label': 'Mute', 'aria-pressed': String(voice.muted), title: voice.muted ? 'Unmute' : 'Mute', class: voice.muted ? 'off' : '', onclick: () => void voice.toggleMute() }, icon(voice.muted ? 'micOff' : 'mic', 20)),
          m('button.round.toggle[type=button]', { 'aria-label': 'Deafen', 'aria-pressed': String(voice.deafened), title: voice.deafened ? 'Undeafen' : 'Deafen', class: voice.deafened ? 'off' : '', onclick: () => void voice.toggleDeafen() }, icon(voice.deafened ? 'headphonesOff' : 'headphones', 20)),
          voice.settings.pushToTalk && m('span.ptt-state', { role: 'status', class: voice.pttHeld ? 'held' : '' }, voice.pttHeld ? 'Talking' : `Hold ${keyLabel(voice.settings.pttKey)} to talk`),
          voice.live
            ? m('button.round.live[type=button]', { 'aria-label': 'Stop streaming', title: 'Stop streaming', onclick: () => void voice.stopLive() }, icon('monitor', 20))
            : m('button.round[type=button]', { 'aria-label': 'Go live', title: 'Go live', onclick: () => { app.dialog = { kind: 'go-live' }; } }, icon('monitor', 20)),
          m('button.round[type=button]', { 'aria-label': 'Voice settings', 'aria-expanded': String(settingsOpen), title: 'Voice settings', onclick: () => { settingsOpen = !settingsOpen; } }, icon('sliders', 20)),
          m('button.round.hangup[type=button]', { 'aria-label': 'Disconnect', title: 'Disconnect', onclick: () => void voice.leave() }, icon('phoneOff', 20)),
        ]),
      ]);
    },
  };
}
