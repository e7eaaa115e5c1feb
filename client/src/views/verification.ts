/**
 * What verification adds to the screens: the panel that walks through a verification (an
 * incoming request as a toast to accept or decline, then the seven emojis to compare, then done
 * or why it stopped), the "verify this session" toast of an unverified session, the shield of a
 * verified person and the "Verify" button in a DM's header, and each session's trust in
 * Settings → Sessions.
 */
import m from 'mithril';
import type { Room } from 'matrix-js-sdk';
import type { AppModel } from '../app.ts';
import type { VerificationView } from '../state/verification.ts';
import { icon } from './icons.ts';
import './verification.css';

interface Attrs { app: AppModel }

/** Runs a verification action; what goes wrong is shown by the panel. */
function act(app: AppModel, what: () => Promise<void> | void): void {
  const v = app.verification;
  if (!v) return;
  v.problem = undefined;
  Promise.resolve().then(what).catch((err: Error) => { v.problem = err.message; }).finally(() => m.redraw());
}

function who(app: AppModel, view: VerificationView): string {
  if (view.self) return view.otherDeviceId ? `your session ${view.otherDeviceId}` : 'your other session';
  return app.chat?.displayName(view.otherUserId) ?? view.otherUserId;
}

/** The seven emojis with their names, in the order both sides see them. */
function emojiGrid(view: VerificationView): m.Children {
  return m('ol.sas-emojis', { 'aria-label': 'Emojis to compare' }, (view.emojis ?? []).map(([emoji, name], i) =>
    m('li.sas-emoji', { key: i }, [m('span.sas-symbol[aria-hidden=true]', emoji), m('span.sas-name', name)])));
}

/** The body of the verification dialog at each step. */
function dialogBody(app: AppModel, view: VerificationView): m.Children {
  const v = app.verification!;
  const other = who(app, view);
  const close = m('button[type=button]', { onclick: () => act(app, () => v.cancel()) }, 'Cancel');
  switch (view.step) {
    case 'waiting':
      return [
        m('p', view.self ? 'Open Whisper on one of your other sessions and accept the request there.' : `Waiting for ${other} to accept…`),
        m('.actions', close),
      ];
    case 'starting':
      return [m('p[role=status]', 'Getting the emojis ready…'), m('.actions', close)];
    case 'emojis':
      return [
        m('p', `Check that ${view.self ? 'the other session shows' : `${other} sees`} these emojis, in the same order:`),
        emojiGrid(view),
        m('.actions', [
          m('button.danger[type=button]', { onclick: () => act(app, () => v.mismatch()) }, 'They don’t match'),
          m('button.primary[type=button]', { onclick: () => act(app, () => v.match()) }, 'They match'),
        ]),
      ];
    case 'confirmed':
      return [emojiGrid(view), m('p[role=status]', `Waiting for ${other} to confirm…`), m('.actions', close)];
    case 'done':
      return [
        m('p.verified-done[role=status]', [icon('shield', 20), view.self ? ' Verified: this session and the other trust each other.' : ` Verified: you and ${other} trust each other’s sessions.`]),
        m('.actions', m('button.primary[type=button]', { onclick: () => act(app, () => v.cancel()), oncreate: (n) => (n.dom as HTMLElement).focus() }, 'Done')),
      ];
    case 'cancelled':
      return [m('p.error[role=alert]', view.reason), m('.actions', m('button[type=button]', { onclick: () => act(app, () => v.cancel()) }, 'Close'))];
    default:
      return null;
  }
}

/** An incoming request: a toast, as in Element, that does not interrupt what the user was doing. */
function incomingToast(app: AppModel, view: VerificationView): m.Children {
  const v = app.verification!;
  return m('aside.toast[role=dialog]', { 'aria-labelledby': 'verify-toast-title' }, [
    m('h2#verify-toast-title', view.self ? 'Verify your new session' : 'Verification request'),
    m('p', view.self ? `${who(app, view)} wants to be verified, so it can read your encrypted messages.` : `${who(app, view)} wants to verify you.`),
    m('.actions', [
      m('button[type=button]', { onclick: () => act(app, () => v.cancel()) }, 'Decline'),
      m('button.primary[type=button]', { onclick: () => act(app, () => v.accept()) }, 'Accept'),
    ]),
  ]);
}

/** "Verify this session": shown on a session the account's others do not trust yet, until dismissed. */
function unverifiedToast(app: AppModel, dismiss: () => void): m.Children {
  const v = app.verification!;
  return m('aside.toast.warn[role=region]', { 'aria-labelledby': 'verify-session-title' }, [
    m('h2#verify-session-title', [icon('shield', 16), ' Verify this session']),
    m('p', 'Your other sessions cannot trust this one yet: verify it from one of them, or with your recovery key.'),
    m('.actions', [
      m('button[type=button]', { onclick: dismiss }, 'Later'),
      m('button[type=button]', { onclick: () => { dismiss(); m.route.set('/settings'); } }, 'Use recovery key'),
      m('button.primary[type=button]', { onclick: () => act(app, () => v.verifyThisSession()) }, 'Verify with another session'),
    ]),
  ]);
}

/** Drawn once in the shell: whatever verification is under way, else the unverified-session toast. */
export function VerificationPanel(): m.Component<Attrs> {
  let dismissed = false;
  return {
    view: ({ attrs: { app } }) => {
      const v = app.verification;
      if (!v) return null;
      const view = v.current;
      const problem = v.problem && m('aside.toast[role=alert]', [
        m('p.error', v.problem),
        m('.actions', m('button[type=button]', { onclick: () => { v.problem = undefined; } }, 'Close')),
      ]);
      if (!view) return [problem, !dismissed && v.thisSession() === 'unverified' ? unverifiedToast(app, () => { dismissed = true; }) : null];
      if (view.step === 'incoming') return [problem, incomingToast(app, view)];
      const title = view.self ? (view.step === 'done' ? 'Session verified' : 'Verify session') : `Verify ${who(app, view)}`;
      return [problem, m('.overlay', { onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape') act(app, () => v.cancel()); } },
        // Focus moves into the dialog, so Escape and the keyboard reach it at once.
        m('section.dialog.verification[role=dialog][aria-modal=true][tabindex=-1]', { 'aria-labelledby': 'verify-title', oncreate: (n) => (n.dom as HTMLElement).focus() }, [
          m('h2#verify-title', title),
          dialogBody(app, view),
        ]))];
    },
  };
}

/** A shield for someone this user verified (nothing while unverified or unknown). */
export function userShield(app: AppModel, userId: string): m.Children {
  if (!app.verification?.isUserVerified(userId)) return null;
  const name = app.chat?.displayName(userId) ?? userId;
  return m('span.verified-shield[role=img]', { 'aria-label': `${name} is verified`, title: `You verified ${name}` }, icon('shield', 16));
}

/** A DM's header: the partner's shield once verified, else a button to verify them (in encrypted DMs). */
export function dmVerification(app: AppModel, room: Room): m.Children {
  const partner = app.chat?.dmPartner(room);
  const v = app.verification;
  if (!partner || !v || !app.encryption?.isEncrypted(room) || room.getMember(partner)?.membership !== 'join') return null;
  const verified = v.isUserVerified(partner);
  if (verified) return userShield(app, partner);
  if (verified === undefined) return null;
  const name = app.chat!.displayName(partner, room);
  return m('button.verify-user[type=button]', { 'aria-label': `Verify ${name}`, title: `Verify ${name} by comparing emojis`, onclick: () => act(app, () => v.verifyUser(partner, room.roomId)) },
    [icon('shield', 16), ' Verify']);
}

/** Settings → Sessions: whether a session of this account is verified; this one, unverified, can be verified from here. */
export function deviceTrust(app: AppModel, deviceId: string, current: boolean): m.Children {
  const v = app.verification;
  const own = v?.thisSession();
  // An unverified session cannot tell which of the others are genuine: unknown, as in Element.
  if (!v || !own || own === 'no-identity' || (own === 'unverified' && !current)) return null;
  const verified = v.isOwnDeviceVerified(deviceId);
  if (verified === undefined) return null;
  if (verified) return m('span.tag.verified', 'Verified');
  return [
    m('span.tag.unverified', 'Unverified'),
    current && m('button.link.verify-session[type=button]', { onclick: () => act(app, () => v.verifyThisSession()) }, 'Verify this session'),
  ];
}
