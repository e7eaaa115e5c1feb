/** Sign in and create account: server address (remembered), username, password, invite code; "Forgot password?". */
import m from 'mithril';
import { field } from './field.ts';
import type { AppModel } from '../app.ts';
import { prepareCryptoWasm } from '../state/cryptoWasm.ts';
import { AuthError, TOTP_REQUIRED } from '../state/session.ts';
import { ForgotPasswordView } from './forgotPassword.ts';

interface Attrs { app: AppModel }

export function AuthView(): m.Component<Attrs> {
  let mode: 'login' | 'register' | 'forgot' = 'login';
  /** Said on the sign-in form after a password reset. */
  let notice = '';
  let server = '';
  let username = '';
  let password = '';
  let invite = '';
  let error = '';
  let busy = false;
  let needsInvite: boolean | undefined;
  /** Set once the server asked for the second factor: the form then asks only for the code. */
  let totpStep = false;
  let totpCode = '';

  const checkFlows = (app: AppModel) => {
    app.sessions.registrationFlows(server).then((f) => { needsInvite = f.needsInviteCode; m.redraw(); }, () => { needsInvite = undefined; });
  };

  return {
    oninit: ({ attrs }) => {
      server = attrs.app.sessions.serverUrl;
      // A reset waiting for its mailed link picks up where it was (e.g. after a reload).
      if (attrs.app.sessions.passwordReset().pending()) mode = 'forgot';
      const fromDesktop = window.whisperDesktop?.getServerUrl();
      fromDesktop?.then((u) => { if (u) { server = u; m.redraw(); } });
    },
    view: ({ attrs: { app } }) => {
      const submit = async (e: Event) => {
        e.preventDefault();
        busy = true;
        error = '';
        notice = '';
        // The crypto WASM compiles while the sign-in request is on its way (signing in starts crypto).
        void prepareCryptoWasm();
        try {
          const session = mode === 'login'
            ? await app.sessions.login(server, username, password, undefined, totpStep ? totpCode : undefined)
            : await app.sessions.register(server, username, password, invite || undefined);
          void window.whisperDesktop?.setServerUrl(session.baseUrl);
          // Signed in after all: a reset asked for earlier is not picked up again later.
          app.sessions.passwordReset().cancel();
          await app.open(session);
          m.route.set('/');
        } catch (err) {
          error = err instanceof AuthError ? err.message : String((err as Error).message ?? err);
          if (err instanceof AuthError && err.errcode === 'W_NEED_INVITE') needsInvite = true;
          if (err instanceof AuthError && err.errcode === TOTP_REQUIRED) {
            totpStep = true;
            error = '';
          }
        } finally {
          busy = false;
          m.redraw();
        }
      };
      if (mode === 'forgot') {
        return m('main.auth', m(ForgotPasswordView, {
          app,
          server,
          onServer: (url: string) => { server = url; },
          onDone: (said?: string) => { mode = 'login'; notice = said ?? ''; error = ''; password = ''; },
        }));
      }
      if (totpStep) {
        return m('main.auth', m('form.auth-card', { onsubmit: submit, 'aria-labelledby': 'auth-title' }, [
          m('h1#auth-title', 'Two-factor authentication'),
          m('p.sub', `Enter the 6-digit code from your authenticator app for ${username.trim()}, or one of your recovery codes.`),
          field('totp-code', 'Authentication code', { value: totpCode, oninput: (e: any) => { totpCode = e.target.value; }, autocomplete: 'one-time-code', inputmode: 'numeric', required: true, autofocus: true,
            oncreate: (v: m.VnodeDOM) => (v.dom as HTMLElement).focus() }),
          error && m('p.error[role=alert]', error),
          m('button.primary[type=submit]', { disabled: busy }, busy ? 'Please wait…' : 'Verify and sign in'),
          m('button.link[type=button]', { onclick: () => { totpStep = false; totpCode = ''; error = ''; } }, 'Back to sign in'),
        ]));
      }
      return m('main.auth', m('form.auth-card', { onsubmit: submit, 'aria-labelledby': 'auth-title' }, [
        m('h1#auth-title', mode === 'login' ? 'Welcome back' : 'Create an account'),
        m('p.sub', mode === 'login' ? 'Sign in to your Whisper server.' : 'Join your friends on Whisper.'),
        m('.tabs[role=tablist]', [
          m('button[type=button][role=tab]', { 'aria-selected': String(mode === 'login'), class: mode === 'login' ? 'active' : '', onclick: () => { mode = 'login'; error = ''; } }, 'Sign in'),
          m('button[type=button][role=tab]', { 'aria-selected': String(mode === 'register'), class: mode === 'register' ? 'active' : '', onclick: () => { mode = 'register'; error = ''; checkFlows(app); } }, 'Create account'),
        ]),
        field('server', 'Server', { value: server, oninput: (e: any) => { server = e.target.value; }, onchange: () => mode === 'register' && checkFlows(app), autocomplete: 'url', required: true }),
        field('username', 'Username', { value: username, oninput: (e: any) => { username = e.target.value; }, autocomplete: 'username', required: true, autofocus: true }),
        field('password', 'Password', { type: 'password', value: password, oninput: (e: any) => { password = e.target.value; }, autocomplete: mode === 'login' ? 'current-password' : 'new-password', required: true, minlength: mode === 'register' ? 8 : undefined }),
        mode === 'login' && m('button.link.forgot[type=button]', { onclick: () => { mode = 'forgot'; error = ''; notice = ''; } }, 'Forgot password?'),
        mode === 'register' && field('invite', 'Invite code', { value: invite, oninput: (e: any) => { invite = e.target.value; }, required: needsInvite === true, autocomplete: 'off' },
          needsInvite === false ? 'This server does not need one.' : 'Ask a friend on this server for one.'),
        notice && m('p.ok[role=status]', notice),
        error && m('p.error[role=alert]', error),
        m('button.primary[type=submit]', { disabled: busy }, busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create account'),
      ]));
    },
  };
}
