/** Settings: profile (display name, avatar), sessions with sign-out, notifications, voice, sign out. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { DeviceInfo } from '../state/chat.ts';
import { avatar } from './avatar.ts';
import { SecureBackupCard } from './encryption.ts';
import { icon } from './icons.ts';
import { SecuritySettings } from './security.ts';
import { deviceTrust } from './verification.ts';
import { VoiceSettingsForm } from './voiceSettings.ts';

interface Attrs { app: AppModel }

export function SettingsView(): m.Component<Attrs> {
  let name = '';
  let devices: DeviceInfo[] | undefined;
  let status = '';
  let error = '';
  let revoking: string | undefined;
  let password = '';
  const loadDevices = (app: AppModel) => app.chat!.devices().then((d) => { devices = d; m.redraw(); }, (e) => { error = e.message; });
  return {
    oninit: ({ attrs: { app } }) => {
      name = app.chat!.profile().displayName;
      void loadDevices(app);
    },
    view: ({ attrs: { app } }) => {
      const chat = app.chat!;
      const me = chat.profile();
      const act = async (what: () => Promise<unknown>, done: string) => {
        error = '';
        status = '';
        try { await what(); status = done; } catch (err) { error = (err as Error).message; }
        m.redraw();
      };
      return m('section.settings', { 'aria-labelledby': 'settings-title' }, [
        m('header.room-head', [m('h1#settings-title', 'Settings'), m('.spacer'), m(m.route.Link, { href: '/', class: 'icon', 'aria-label': 'Close settings' }, icon('close'))]),
        m('.settings-body', [
          m('section.card', { 'aria-labelledby': 'profile-title' }, [
            m('h2#profile-title', 'Profile'),
            m('.profile-row', [
              avatar(app.media, me.displayName, me.avatarMxc, 72),
              m('label.button', [
                'Change avatar',
                m('input.visually-hidden[type=file][accept=image/*]', { 'aria-label': 'Change avatar', onchange: (e: any) => {
                  const f: File | undefined = e.target.files?.[0];
                  if (f) void act(() => chat.setAvatar(f, f.name), 'Avatar updated');
                } }),
              ]),
            ]),
            m('form.inline', { onsubmit: (e: Event) => { e.preventDefault(); void act(() => chat.setDisplayName(name.trim()), 'Display name saved'); } }, [
              m('.field', [m('label[for=display-name]', 'Display name'), m('input#display-name', { value: name, oninput: (e: any) => { name = e.target.value; }, required: true })]),
              m('button.primary[type=submit]', 'Save'),
            ]),
            m('p.hint', chat.userId),
          ]),
          m('section.card', { 'aria-labelledby': 'sessions-title' }, [
            m('h2#sessions-title', 'Sessions'),
            !devices ? m('p.hint', 'Loading…') : m('ul.devices', devices.map((d) => m('li.device', { key: d.deviceId }, [
              m('.device-info', [
                m('.device-name', [m('strong', d.displayName || d.deviceId), d.current && m('span.tag', 'this device'), deviceTrust(app, d.deviceId, d.current)]),
                m('small', [d.deviceId, d.lastSeenIp && ` · ${d.lastSeenIp}`, d.lastSeenTs && ` · last seen ${new Date(d.lastSeenTs).toLocaleString()}`]),
              ]),
              !d.current && (revoking === d.deviceId
                ? m('form.inline', { onsubmit: (e: Event) => { e.preventDefault(); void act(async () => { await chat.deleteDevice(d.deviceId, password); revoking = undefined; password = ''; await loadDevices(app); }, 'Session signed out'); } }, [
                  m('input[type=password]', { 'aria-label': 'Your password', placeholder: 'Your password', value: password, oninput: (e: any) => { password = e.target.value; }, oncreate: (v) => (v.dom as HTMLElement).focus() }),
                  m('button.danger[type=submit]', 'Sign out'),
                  m('button[type=button]', { onclick: () => { revoking = undefined; } }, 'Cancel'),
                ])
                : m('button.danger[type=button]', { 'aria-label': `Sign out ${d.displayName || d.deviceId}`, onclick: () => { revoking = d.deviceId; password = ''; } }, 'Sign out')),
            ]))),
          ]),
          m('section.card', { 'aria-labelledby': 'notif-title' }, [
            m('h2#notif-title', 'Notifications'),
            typeof Notification !== 'undefined' && !window.whisperDesktop
              ? m('button[type=button]', { disabled: Notification.permission === 'granted', onclick: () => Notification.requestPermission().then(() => m.redraw()) },
                Notification.permission === 'granted' ? 'Desktop notifications are on' : 'Turn on desktop notifications')
              : m('p.hint', 'Desktop notifications are on for DMs and mentions.'),
          ]),
          m('section.card', { 'aria-labelledby': 'voice-title' }, [
            m('h2#voice-title', 'Voice and video'),
            m(VoiceSettingsForm, { app, idPrefix: 'settings-voice' }),
          ]),
          status && m('p.ok[role=status]', status),
          error && m('p.error[role=alert]', error),
          m(SecuritySettings, { app }),
          m(SecureBackupCard, { app }),
          m('button.danger.signout[type=button]', { onclick: () => app.signOut() }, 'Sign out'),
        ]),
      ]);
    },
  };
}
