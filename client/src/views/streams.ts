/**
 * The viewer grid of a voice channel: every live stream with a Watch button; watched ones
 * play side by side (the grid gives each its share), with a live stats overlay (resolution,
 * fps, bitrate, latency, loss), a quality menu for simulcast streams (only this viewer's copy
 * changes) and full screen. Your own stream shows its local preview.
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { Layer } from '../media/voiceConnection.ts';
import type { LiveStream } from '../state/voiceRoster.ts';
import { formatBitrate, type StreamStats } from '../state/voiceStats.ts';
import { icon } from './icons.ts';

const PRESET_LABEL: Record<string, string> = { '720p30': '720p 30 fps', '1080p60': '1080p 60 fps', '1440p60': '1440p 60 fps', '2160p60': '4K 60 fps', source: 'Source quality' };
/** Short: the menu sits in a tile's header, two tiles side by side; its label says what it is. */
const LAYER_LABEL: Record<Layer, string> = { h: 'Full', m: 'Half', l: 'Quarter' };

export const presetLabel = (preset: string) => PRESET_LABEL[preset] ?? preset;

/** A <video> showing a MediaStream; muted because VoiceConnection plays the stream's audio itself (with the user's volume). */
function video(media: MediaStream, label: string): m.Vnode {
  const attach = (v: m.VnodeDOM) => {
    const el = v.dom as HTMLVideoElement;
    if (el.srcObject !== media) {
      el.srcObject = media;
      void el.play().catch(() => {});
    }
  };
  return m('video.stream-video', { muted: true, autoplay: true, playsinline: true, 'aria-label': label, oncreate: attach, onupdate: attach });
}

function statsOverlay(s: StreamStats | undefined): m.Vnode {
  const parts = s ? [
    s.width && s.height ? `${s.width}×${s.height}` : undefined,
    s.fps !== undefined ? `${Math.round(s.fps)} fps` : undefined,
    formatBitrate(s.kbps),
    s.latencyMs !== undefined ? `${s.latencyMs} ms` : undefined,
    s.lossPct !== undefined ? `${s.lossPct.toFixed(1)}% loss` : undefined,
    s.codec,
  ].filter(Boolean) : ['Waiting for stats…'];
  return m('.stream-stats', {
    role: 'status', 'aria-label': `Stream stats: ${parts.join(', ')}`,
    'data-width': s?.width, 'data-height': s?.height, 'data-fps': s?.fps !== undefined ? Math.round(s.fps) : undefined,
  }, parts.join(' · '));
}

function fullscreen(e: Event): void {
  const tile = (e.currentTarget as HTMLElement).closest('.stream-tile');
  if (document.fullscreenElement) void document.exitFullscreen();
  else void tile?.requestFullscreen().catch(() => {});
}

function streamTile(app: AppModel, roomId: string, s: LiveStream): m.Vnode {
  const chat = app.chat!;
  const voice = app.voice!;
  const room = chat.room(roomId);
  // Streams are watched through the call: only from inside this channel's call.
  const canWatch = voice.roomId === roomId && voice.status === 'connected';
  const who = chat.displayName(s.userId, room);
  const mine = s.userId === chat.userId;
  const watched = voice.watched.get(s.feed);
  const title = mine ? 'Your stream' : `${who}'s stream`;
  const head = m('header.stream-head', [
    m('span.live-badge', 'LIVE'),
    m('strong', title),
    m('small', [presetLabel(s.preset), s.width && s.height ? ` · ${s.width}×${s.height}` : '']),
    m('.stream-tools', [
      watched && s.layers.length > 0 && m('label.layer-menu', [
        m('span.visually-hidden', 'Quality'),
        m('select', {
          'aria-label': `Quality of ${title}`, value: watched.layer,
          onchange: (e: Event) => void voice.setLayer(s.feed, (e.target as HTMLSelectElement).value as Layer),
        }, (['h', 'm', 'l'] as Layer[]).filter((l) => s.layers.includes(l)).map((l) => m('option', { value: l }, LAYER_LABEL[l]))),
      ]),
      (watched || (mine && voice.live)) && m('button.icon[type=button]', { 'aria-label': `Full screen: ${title}`, title: 'Full screen', onclick: fullscreen }, icon('maximize')),
      watched && m('button.icon[type=button]', { 'aria-label': `Stop watching ${title}`, title: 'Stop watching', onclick: () => void voice.unwatch(s.feed) }, icon('close')),
      mine && voice.live && m('button.danger.small[type=button]', { onclick: () => void voice.stopLive() }, 'Stop streaming'),
    ]),
  ]);
  if (mine && voice.live) return m('article.stream-tile.mine', { key: s.feed, 'aria-label': title }, [head, video(voice.live.media, 'Preview of your stream')]);
  if (watched) {
    return m('article.stream-tile.watching', { key: s.feed, 'aria-label': title, 'data-feed': s.feed }, [
      head, m('.stream-frame', [video(watched.media, title), statsOverlay(voice.streamStats.get(s.feed))]),
    ]);
  }
  return m('article.stream-tile.idle', { key: s.feed, 'aria-label': title }, [
    head,
    m('.stream-placeholder', [
      m('p', `${who} is live`),
      m('button.primary[type=button]', {
        disabled: !canWatch, title: canWatch ? undefined : 'Join the call to watch',
        'aria-label': `Watch ${who}'s stream`, onclick: () => void voice.watch(s.feed, s.userId, s.streamId),
      }, [icon('eye'), ' Watch']),
    ]),
  ]);
}

export function streamsGrid(app: AppModel, roomId: string, streams: LiveStream[]): m.Children {
  if (!streams.length) return null;
  const watching = streams.filter((s) => app.voice!.watched.has(s.feed) || (s.userId === app.chat!.userId && app.voice!.live)).length;
  return m('section.streams', { 'aria-label': 'Live streams', class: watching >= 2 ? 'side-by-side' : '' }, streams.map((s) => streamTile(app, roomId, s)));
}
