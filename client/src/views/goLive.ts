/**
 * "Go live": pick what to share and at what quality. In the desktop app the sources (screens
 * and windows, with thumbnails) come from the preload's picker; a browser shows its own picker
 * when the stream starts. A camera can be shared too. Presets: 720p30, 1080p60 (default),
 * 1440p60, 4K60, source; "motion" keeps games smooth, "detail" keeps text sharp.
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { CaptureSource } from '../desktop.ts';
import type { ContentKind, QualityPreset } from '../media/quality.ts';
import { PRESET_CHOICES } from '../state/voiceSettings.ts';
import { presetLabel } from './streams.ts';

interface Attrs { app: AppModel }

export function GoLiveDialog(): m.Component<Attrs> {
  let sources: CaptureSource[] | undefined;
  let sourceId = '';
  let kind: 'screen' | 'camera' = 'screen';
  let preset: QualityPreset | undefined;
  let content: ContentKind = 'motion';
  let withAudio = true;
  let busy = false;
  let error = '';
  let loaded = false;
  const loadSources = (app: AppModel) => {
    if (loaded) return;
    loaded = true;
    void app.voice!.desktopSources()?.then((list) => {
      sources = list;
      sourceId ||= list[0]?.id ?? '';
      m.redraw();
    });
  };
  return {
    view: ({ attrs: { app } }) => {
      if (app.dialog?.kind !== 'go-live') {
        loaded = false;
        return null;
      }
      loadSources(app);
      const voice = app.voice!;
      const chosen = preset ?? voice.settings.preset;
      const close = () => { app.dialog = undefined; error = ''; busy = false; };
      const start = async (e: Event) => {
        e.preventDefault();
        busy = true;
        error = '';
        try {
          const media = await voice.capture(kind, chosen, withAudio, kind === 'screen' && sources ? sourceId : undefined);
          await voice.goLive(media, chosen, content);
          close();
        } catch (err) {
          error = (err as Error).name === 'NotAllowedError' ? 'Sharing was cancelled.' : (err as Error).message;
          busy = false;
        }
        m.redraw();
      };
      const radio = (group: string, value: string, label: string, checked: boolean, set: () => void) => m('label.choice', [
        m('input[type=radio]', { name: group, value, checked, onchange: set }), label,
      ]);
      return m('.overlay', { onclick: (e: Event) => { if (e.target === e.currentTarget) close(); }, onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape') close(); } },
        m('form.dialog.go-live[role=dialog][aria-modal=true]', { 'aria-labelledby': 'go-live-title', onsubmit: start }, [
          m('h2#go-live-title', 'Go live'),
          m('fieldset.choices', [
            m('legend', 'What to share'),
            radio('go-live-kind', 'screen', 'Screen or window', kind === 'screen', () => { kind = 'screen'; }),
            radio('go-live-kind', 'camera', 'Camera', kind === 'camera', () => { kind = 'camera'; }),
          ]),
          kind === 'screen' && (sources
            ? m('fieldset.sources', [
              m('legend', 'Source'),
              m('.source-grid', sources.map((s) => m('label.source', { class: s.id === sourceId ? 'selected' : '' }, [
                m('input.visually-hidden[type=radio][name=go-live-source]', { value: s.id, checked: s.id === sourceId, onchange: () => { sourceId = s.id; } }),
                m('img', { src: s.thumbnail, alt: '' }),
                m('span', s.name),
              ]))),
            ])
            : m('p.hint', 'Your browser asks which screen, window or tab to share when you go live.')),
          m('fieldset.choices', [
            m('legend', 'Quality'),
            PRESET_CHOICES.map((p) => radio('go-live-preset', p, presetLabel(p), p === chosen, () => { preset = p; })),
          ]),
          m('fieldset.choices', [
            m('legend', 'Optimise for'),
            radio('go-live-content', 'motion', 'Smooth motion (games, video)', content === 'motion', () => { content = 'motion'; }),
            radio('go-live-content', 'detail', 'Sharp detail (text, code)', content === 'detail', () => { content = 'detail'; }),
          ]),
          kind === 'screen' && m('label.check', [m('input[type=checkbox]', { checked: withAudio, onchange: (e: Event) => { withAudio = (e.target as HTMLInputElement).checked; } }), 'Share sound too (where the system offers it)']),
          error && m('p.error[role=alert]', error),
          m('.actions', [
            m('button[type=button]', { onclick: close }, 'Cancel'),
            m('button.primary[type=submit]', { disabled: busy || !voice.inCall }, busy ? 'Starting…' : 'Go live'),
          ]),
        ]));
    },
  };
}
