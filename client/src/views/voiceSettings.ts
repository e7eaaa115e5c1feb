/**
 * Voice settings: input and output devices, echo cancellation / noise suppression / auto gain,
 * push-to-talk with its key, join/leave sounds. Shown in the call's settings popover and in
 * the Settings screen; every change applies to a running call at once.
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { keyLabel } from '../state/voiceSettings.ts';

interface Attrs { app: AppModel; idPrefix: string }

function check(id: string, label: string, checked: boolean, onchange: (on: boolean) => void): m.Vnode {
  return m('label.check', { for: id }, [
    m(`input#${id}[type=checkbox]`, { checked, onchange: (e: Event) => onchange((e.target as HTMLInputElement).checked) }),
    label,
  ]);
}

export function VoiceSettingsForm(): m.Component<Attrs> {
  let capturingKey = false;
  return {
    oninit: ({ attrs: { app } }) => void app.voice!.refreshDevices(),
    view: ({ attrs: { app, idPrefix } }) => {
      const voice = app.voice!;
      const s = voice.settings;
      const id = (name: string) => `${idPrefix}-${name}`;
      const deviceSelect = (name: string, label: string, list: MediaDeviceInfo[], value: string, set: (v: string) => void) => m('.field', [
        m(`label[for=${id(name)}]`, label),
        m(`select#${id(name)}`, { value, onchange: (e: Event) => set((e.target as HTMLSelectElement).value) }, [
          m('option', { value: '' }, 'Default'),
          list.filter((d) => d.deviceId && d.deviceId !== 'default').map((d, i) => m('option', { value: d.deviceId }, d.label || `${label} ${i + 1}`)),
        ]),
      ]);
      const outputsSupported = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
      return m('.voice-settings', [
        deviceSelect('input', 'Input device', voice.devices.inputs, s.inputDeviceId, (v) => void voice.setInputDevice(v)),
        outputsSupported
          ? deviceSelect('output', 'Output device', voice.devices.outputs, s.outputDeviceId, (v) => void voice.setOutputDevice(v))
          : m('p.hint', 'This browser plays through its default output device.'),
        m('fieldset.checks', [
          m('legend', 'Voice processing'),
          check(id('echo'), 'Echo cancellation', s.echoCancellation, (on) => void voice.setProcessing({ echoCancellation: on })),
          check(id('noise'), 'Noise suppression', s.noiseSuppression, (on) => void voice.setProcessing({ noiseSuppression: on })),
          check(id('agc'), 'Automatic gain', s.autoGainControl, (on) => void voice.setProcessing({ autoGainControl: on })),
        ]),
        m('fieldset.checks', [
          m('legend', 'Push to talk'),
          check(id('ptt'), 'Use push to talk', s.pushToTalk, (on) => voice.setPushToTalk(on)),
          m('.ptt-key', [
            m('span', 'Key: '),
            m('kbd', keyLabel(s.pttKey)),
            m('button[type=button]', {
              'aria-label': capturingKey ? 'Press the new push-to-talk key' : `Change push-to-talk key (now ${keyLabel(s.pttKey)})`,
              onclick: () => { capturingKey = true; },
              onkeydown: (e: KeyboardEvent) => {
                if (!capturingKey || e.key === 'Tab') return;
                e.preventDefault();
                if (e.key !== 'Escape') voice.setPttKey(e.code);
                capturingKey = false;
              },
              onblur: () => { capturingKey = false; },
            }, capturingKey ? 'Press a key…' : 'Change key'),
          ]),
        ]),
        check(id('sounds'), 'Play join, leave and mute sounds', s.sounds, (on) => voice.setSounds(on)),
      ]);
    },
  };
}
