/**
 * "Forgot password?": the address of the account, then (once the mailed link was opened) the
 * new password, and the code when the account has two-factor auth. Finishing signs every
 * session out; the sign-in screen then says so.
 */
import m from 'mithril';
import { field } from './field.ts';
import type { AppModel } from '../app.ts';
import { RESET_NEEDS_TOTP, type PasswordReset, type PendingReset } from '../state/passwordReset.ts';
import { AuthError } from '../state/session.ts';

interface Attrs {
  app: AppModel;
  server: string;
  onServer: (url: string) => void;
  /** Back to sign-in; `notice` is shown there (after a reset). */
  onDone: (notice?: string) => void;
}

export function ForgotPasswordView(): m.Component<Attrs> {
  let reset: PasswordReset;
  let pending: PendingReset | undefined;
  let email = '';
  let password = '';
  let confirm = '';
  let code = '';
  let needsCode = false;
  let error = '';
  let status = '';
  let busy = false;

  const run = async (act: () => Promise<void>) => {
    busy = true;
    error = '';
    status = '';
    try {
      await act();
    } catch (err) {
      error = err instanceof AuthError ? err.message : String((err as Error).message ?? err);
      if (err instanceof AuthError && err.errcode === RESET_NEEDS_TOTP) needsCode = true;
    } finally {
      busy = false;
      m.redraw();
    }
  };

  return {
    oninit: ({ attrs }) => {
      reset = attrs.app.sessions.passwordReset();
      pending = reset.pending();
      email = pending?.email ?? '';
    },
    view: ({ attrs: { server, onServer, onDone } }) => {
      const back = m('button.link[type=button]', { onclick: () => onDone() }, 'Back to sign in');
      if (!pending) {
        return m('form.auth-card', {
          'aria-labelledby': 'auth-title',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void run(async () => { pending = await reset.request(server, email); });
          },
        }, [
          m('h1#auth-title', 'Forgot your password?'),
          m('p.sub', 'Enter the email address of your account. We will mail you a link to choose a new password.'),
          field('server', 'Server', { value: server, oninput: (e: any) => onServer(e.target.value), autocomplete: 'url', required: true }),
          field('reset-email', 'Email address', { type: 'email', value: email, oninput: (e: any) => { email = e.target.value; }, autocomplete: 'email', required: true,
            oncreate: (v: m.VnodeDOM) => (v.dom as HTMLElement).focus() }),
          error && m('p.error[role=alert]', error),
          m('button.primary[type=submit]', { disabled: busy }, busy ? 'Please wait…' : 'Send reset link'),
          back,
        ]);
      }
      const p = pending;
      const mismatch = confirm !== '' && confirm !== password;
      return m('form.auth-card', {
        'aria-labelledby': 'auth-title',
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (password !== confirm) {
            error = 'The two passwords differ.';
            return;
          }
          void run(async () => {
            await reset.finish(password, needsCode ? code : undefined);
            onDone('Your password was changed and every session was signed out. Sign in with your new password.');
          });
        },
      }, [
        m('h1#auth-title', 'Check your email'),
        // Worded so it holds for a server that does not tell which addresses have accounts.
        m('p.sub', { role: 'status' }, [`If ${p.email} is the address of an account on this server, a link is on its way. Open it, then come back here and choose a new password.`]),
        field('new-password', 'New password', { type: 'password', value: password, oninput: (e: any) => { password = e.target.value; }, autocomplete: 'new-password', required: true, minlength: 8 }),
        field('confirm-password', 'Confirm new password', { type: 'password', value: confirm, oninput: (e: any) => { confirm = e.target.value; }, autocomplete: 'new-password', required: true,
          'aria-invalid': String(mismatch) }, mismatch ? 'The two passwords differ.' : undefined),
        needsCode && field('reset-code', 'Authentication code', { value: code, oninput: (e: any) => { code = e.target.value; }, autocomplete: 'one-time-code', required: true,
          oncreate: (v: m.VnodeDOM) => (v.dom as HTMLElement).focus() }, 'Your account has two-factor authentication: a code from your app, or a recovery code.'),
        status && m('p.ok[role=status]', status),
        error && m('p.error[role=alert]', error),
        m('button.primary[type=submit]', { disabled: busy }, busy ? 'Please wait…' : 'Set new password'),
        m('p.hint', 'Every device signed in to your account will be signed out.'),
        m('button.link[type=button]', {
          disabled: busy,
          onclick: () => void run(async () => {
            pending = await reset.resend();
            status = `A new link was sent to ${pending.email}. Only the newest link works.`;
          }),
        }, 'Send the email again'),
        m('button.link[type=button]', { onclick: () => { reset.cancel(); pending = undefined; error = ''; status = ''; needsCode = false; } }, 'Use another address'),
        back,
      ]);
    },
  };
}
