/** The modal that answers user-interactive auth: the password, then the authenticator code. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { UiaCancelled } from '../state/uia.ts';

interface Attrs { app: AppModel }

export function AuthPromptView(): m.Component<Attrs> {
  let value = '';
  return {
    view: ({ attrs: { app } }) => {
      const req = app.authRequest;
      if (!req) return null;
      const isPassword = req.stage === 'm.login.password';
      const finish = (answer?: string) => {
        app.authRequest = undefined;
        const v = value;
        value = '';
        if (answer === undefined) req.reject(new UiaCancelled());
        else req.resolve(v);
      };
      return m('.overlay', { onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape') finish(); } },
        m('form.dialog[role=dialog][aria-modal=true]', { 'aria-labelledby': 'auth-prompt-title', onsubmit: (e: Event) => { e.preventDefault(); finish(value); } }, [
          m('h2#auth-prompt-title', isPassword ? 'Confirm it’s you' : 'Two-factor code'),
          m('p.hint', isPassword ? 'Enter your password to continue.' : 'Enter the 6-digit code from your authenticator app, or a recovery code.'),
          m('.field', [
            m('label[for=auth-prompt-input]', isPassword ? 'Password' : 'Authentication code'),
            m('input#auth-prompt-input', {
              type: isPassword ? 'password' : 'text',
              autocomplete: isPassword ? 'current-password' : 'one-time-code',
              inputmode: isPassword ? undefined : 'numeric',
              value, required: true,
              oninput: (e: any) => { value = e.target.value; },
              oncreate: (v) => (v.dom as HTMLElement).focus(),
            }),
          ]),
          req.error && m('p.error[role=alert]', req.error),
          m('.actions', [
            m('button[type=button]', { onclick: () => finish() }, 'Cancel'),
            m('button.primary[type=submit]', 'Continue'),
          ]),
        ]));
    },
  };
}
