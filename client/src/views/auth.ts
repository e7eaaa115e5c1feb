/** Sign in and create account: server address (remembered), username, password, invite code. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { AuthError } from '../state/session.ts';

interface Attrs { app: AppModel }

export function AuthView(): m.Component<Attrs> {
  let mode: 'login' | 'register' = 'login';
  let server = '';
  let username = '';
  let password = '';
  let invite = '';
  let error = '';
  let busy = false;
  let needsInvite: boolean | undefined;

  const checkFlows = (app: AppModel) => {
    app.sessions.registrationFlows(server).then((f) => { needsInvite = f.needsInviteCode; m.redraw(); }, () => { needsInvite = undefined; });
  };

  return {
    oninit: ({ attrs }) => {
      server = attrs.app.sessions.serverUrl;
      const fromDesktop = window.whisperDesktop?.getServerUrl();
      fromDesktop?.then((u) => { if (u) { server = u; m.redraw(); } });
    },
    view: ({ attrs: { app } }) => {
      const submit = async (e: Event) => {
        e.preventDefault();
        busy = true;
        error = '';
        try {
          const session = mode === 'login'
            ? await app.sessions.login(server, username, password)
            : await app.sessions.register(server, username, password, invite || undefined);
          void window.whisperDesktop?.setServerUrl(session.baseUrl);
          await app.open(session);
          m.route.set('/');
        } catch (err) {
          error = err instanceof AuthError ? err.message : String((err as Error).message ?? err);
          if (err instanceof AuthError && err.errcode === 'W_NEED_INVITE') needsInvite = true;
        } finally {
          busy = false;
          m.redraw();
        }
      };
      const field = (id: string, label: string, attrs: Record<string, unknown>, hint?: string) => m('.field', [
        m('label', { for: id }, label),
        m('input', { id, ...attrs }),
        hint && m('small.hint', hint),
      ]);
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
        mode === 'register' && field('invite', 'Invite code', { value: invite, oninput: (e: any) => { invite = e.target.value; }, required: needsInvite === true, autocomplete: 'off' },
          needsInvite === false ? 'This server does not need one.' : 'Ask a friend on this server for one.'),
        error && m('p.error[role=alert]', error),
        m('button.primary[type=submit]', { disabled: busy }, busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create account'),
      ]));
    },
  };
}
