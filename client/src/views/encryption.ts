/**
 * What encryption adds to the screens: the lock in an encrypted room's header, the placeholder
 * of a message whose key has not arrived, the "encrypted" toggle of the group dialog, and the
 * Settings card for secure backup (set it up, see the recovery key once, restore with it).
 */
import m from 'mithril';
import type { MatrixEvent, Room } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import { EncryptionState, WAITING_FOR_KEY } from '../state/crypto.ts';
import { UiaCancelled } from '../state/uia.ts';

/** A padlock, in the style of icons.ts (24-unit box, drawn with the text colour). */
function lockIcon(size = 16): m.Vnode {
  return m('svg.svg-icon', { width: size, height: size, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false' },
    m('path', { d: 'M5 11h14a2 2 0 0 1 2 2v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2zM7 11V7a5 5 0 0 1 10 0v4' }));
}

/** The room header's lock: shown for encrypted rooms only. */
export function encryptionBadge(app: AppModel, room: Room): m.Children {
  if (!app.encryption?.isEncrypted(room)) return null;
  return m('span.encrypted-badge[role=img]', { 'aria-label': 'End-to-end encrypted', title: 'Messages here are end-to-end encrypted' }, lockIcon());
}

/** The body of a message this session cannot read yet (undefined once it can); redrawn into the text when its key arrives. */
export function lockedBody(ev: MatrixEvent): m.Children | undefined {
  if (!EncryptionState.isWaitingForKey(ev)) return undefined;
  return m('p.body.undecrypted', [lockIcon(14), ' ', ev.isDecryptionFailure() ? WAITING_FOR_KEY : 'Decrypting…']);
}

/** The group dialog's "encrypted" switch; absent where encryption is not running. */
export function encryptToggle(app: AppModel, checked: boolean, onchange: (on: boolean) => void): m.Children {
  if (!app.encryption?.client) return null;
  return m('label.check', { for: 'group-encrypted' }, [
    m('input#group-encrypted[type=checkbox]', { checked, onchange: (e: Event) => onchange((e.target as HTMLInputElement).checked) }),
    ' End-to-end encrypted (the server cannot read it; search works only on this device)',
  ]);
}

interface Attrs { app: AppModel }

/** Settings → Security: secure backup. */
export function SecureBackupCard(): m.Component<Attrs> {
  let recoveryKey = '';
  let typed = '';
  let busy = false;
  let status = '';
  let error = '';
  return {
    view: ({ attrs: { app } }) => {
      const enc = app.encryption;
      const act = async (what: () => Promise<void>, done: string) => {
        busy = true;
        error = '';
        status = '';
        try {
          await what();
          status = done;
        } catch (err) {
          if (!(err instanceof UiaCancelled)) error = (err as Error).message;
        } finally {
          busy = false;
          m.redraw();
        }
      };
      const prompt = app.chat!.authPrompt;
      const setUp = () => act(async () => { recoveryKey = await enc!.setUpSecureBackup((stage, e) => prompt(stage, e)); }, '');
      let content: m.Children;
      if (!enc?.client) {
        content = m('p.hint', enc?.startError ? `Encryption could not start here: ${enc.startError}` : 'Encryption is starting…');
      } else if (recoveryKey) {
        content = [
          m('p', 'Your recovery key. Keep it somewhere safe, like a password manager: it is the only way to read your encrypted messages on a new device, and it is shown only now.'),
          m('code.recovery-key', { 'aria-label': 'Recovery key' }, recoveryKey),
          m('.row-actions', [
            m('button[type=button]', { onclick: () => void navigator.clipboard?.writeText(recoveryKey).then(() => { status = 'Copied'; m.redraw(); }, () => {}) }, 'Copy'),
            m('button.primary[type=button]', { onclick: () => { recoveryKey = ''; status = 'Secure backup is on'; } }, 'I have saved it'),
          ]),
        ];
      } else if (enc.backup === 'needs-recovery-key') {
        content = [
          m('p.hint', 'Your messages are backed up. Enter your recovery key to read earlier encrypted messages on this device.'),
          m('form.inline', { onsubmit: (e: Event) => { e.preventDefault(); void act(async () => { await enc.restoreFromRecoveryKey(typed); typed = ''; }, 'Keys restored: your earlier messages can be read here'); } }, [
            m('.field', [m('label[for=recovery-key-input]', 'Recovery key'), m('input#recovery-key-input', { value: typed, autocomplete: 'off', spellcheck: false, required: true, oninput: (e: any) => { typed = e.target.value; } })]),
            m('button.primary[type=submit]', { disabled: busy }, 'Restore'),
          ]),
          m('button.link.reset-backup[type=button]', { disabled: busy, onclick: () => confirm('Reset secure backup? Messages only in the old backup can no longer be read on new devices.') && setUp() }, 'Lost your recovery key? Reset secure backup'),
        ];
      } else if (enc.backup === 'on') {
        content = m('.row-actions', [
          m('p.hint', 'Secure backup is on: the keys to your encrypted messages are stored on the server, locked with your recovery key.'),
          m('button[type=button]', { disabled: busy, onclick: () => confirm('Make a new recovery key? The old one will stop working.') && setUp() }, 'Reset secure backup'),
        ]);
      } else {
        content = m('.row-actions', [
          m('p.hint', 'Keep the keys to your encrypted messages on the server, locked with a recovery key only you have, so a new device can read your history.'),
          m('button.primary[type=button]', { disabled: busy, onclick: setUp }, 'Set up secure backup'),
        ]);
      }
      return m('section.card', { 'aria-labelledby': 'backup-title' }, [
        m('h2#backup-title', 'Secure backup'),
        content,
        status && m('p.ok[role=status]', status),
        error && m('p.error[role=alert]', error),
      ]);
    },
  };
}
