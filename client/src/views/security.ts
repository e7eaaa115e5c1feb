/**
 * Settings cards for the account's security: password, two-factor auth (QR code enrolment,
 * recovery codes shown once), email addresses, privacy, and the audit log with exports.
 * Sensitive acts ask for the password / code through the UIA prompt (AuthPromptView).
 */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import type { Audience, Privacy } from '../state/friends.ts';
import type { AuditEntry, Enrolment, PendingEmail, TwoFactorStatus } from '../state/security.ts';
import { UiaCancelled } from '../state/uia.ts';

interface Attrs { app: AppModel }

/** The audit filter choices: label → kinds (empty: everything). */
const AUDIT_FILTERS: [string, string[]][] = [
  ['Everything', []],
  ['Sign-ins', ['login', 'login.failed', 'logout', 'logout.all', 'token.refresh_reuse']],
  ['Security', ['2fa.enable', '2fa.disable', '2fa.used', '2fa.failed', '2fa.recovery_codes_replaced', 'password.change', 'password.reset', 'email.add', 'email.remove', 'device.delete']],
  ['Friends and blocks', ['friend.request', 'friend.accept', 'friend.decline', 'friend.cancel', 'friend.remove', 'block.add', 'block.remove']],
  ['Account', ['account.register', 'account.deactivate']],
];

/** Saves a blob as a file through a temporary object URL. */
function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The otpauth URI as a QR code image (SVG data URL: allowed by the CSP's img-src data:). The library loads only when needed. */
async function qrDataUrl(uri: string): Promise<string> {
  const mod = await import('qrcode');
  // A CommonJS package: the bundled chunk's namespace holds it as `default`.
  const QRCode = (mod as unknown as { default?: typeof mod }).default ?? mod;
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export function SecuritySettings(): m.Component<Attrs> {
  let status = '';
  let error = '';
  let busy = false;
  /** The card the last act was made in: its outcome is shown there. */
  let where = '';
  // password
  let newPassword = '';
  let repeat = '';
  let signOutOthers = false;
  // 2FA
  let twoFa: TwoFactorStatus | undefined;
  let enrolment: Enrolment | undefined;
  let qr = '';
  let confirmCode = '';
  let codes: string[] | undefined;
  // email
  let emails: string[] | undefined;
  let emailInput = '';
  let pendingEmail: PendingEmail | undefined;
  // privacy
  let privacy: Privacy | undefined;
  // audit
  let filter = 0;
  let entries: AuditEntry[] = [];
  let nextBatch: string | undefined;
  let auditLoaded = false;

  const act = async (card: string, what: () => Promise<unknown>, done?: string) => {
    error = '';
    status = '';
    where = card;
    busy = true;
    try {
      await what();
      if (done) status = done;
    } catch (err) {
      if (!(err instanceof UiaCancelled)) error = (err as Error).message;
    } finally {
      busy = false;
      m.redraw();
    }
  };

  const notice = (card: string): m.Children => where === card && [
    status && m('p.ok[role=status]', status),
    error && m('p.error[role=alert]', error),
  ];

  return {
    oninit: ({ attrs: { app } }) => {
      const chat = app.chat!;
      const sec = chat.security;
      void sec.twoFactor().then((s) => { twoFa = s; m.redraw(); }, () => {});
      void sec.emails().then((e) => { emails = e; m.redraw(); }, () => { emails = []; });
      void chat.friends.privacy().then((p) => { privacy = p; m.redraw(); }, () => {});
    },
    view: ({ attrs: { app } }) => {
      const chat = app.chat!;
      const sec = chat.security;
      const loadAudit = (more: boolean) => act('audit', async () => {
        const page = await sec.audit({ kinds: AUDIT_FILTERS[filter][1], from: more ? nextBatch : undefined, limit: 25 });
        entries = more ? [...entries, ...page.entries] : page.entries;
        nextBatch = page.next_batch;
        auditLoaded = true;
      });
      const refresh2fa = async () => { twoFa = await sec.twoFactor(); };
      const recoveryText = () => `Whisper recovery codes for ${chat.userId}\nEach code signs in once.\n\n${codes!.join('\n')}\n`;

      const twoFaCard = m('section.card', { 'aria-labelledby': 'twofa-title' }, [
        m('h2#twofa-title', 'Two-factor authentication'),
        !twoFa ? m('p.hint', 'Loading…') : m('.status-line', [
          m('span', 'Status:'),
          twoFa.enabled ? m('span.tag', 'On') : m('span.tag.off', 'Off'),
          twoFa.enabled && m('small.hint', `${twoFa.recovery_codes_left} recovery codes left`),
        ]),
        codes ? [
          m('p', m('strong', 'Save these recovery codes now. They are shown only once; each signs you in once if you lose your authenticator.')),
          m('ul.recovery-codes[aria-label=Recovery codes]', codes.map((c) => m('li', c))),
          m('.row-actions', [
            m('button[type=button]', { onclick: () => act('2fa', () => navigator.clipboard.writeText(recoveryText()), 'Copied') }, 'Copy'),
            m('button[type=button]', { onclick: () => saveFile(new Blob([recoveryText()], { type: 'text/plain' }), 'whisper-recovery-codes.txt') }, 'Download'),
            m('button.primary[type=button]', { onclick: () => { codes = undefined; } }, 'I saved them'),
          ]),
        ] : enrolment ? m('.enrol', [
          qr ? m('img.qr', { src: qr, alt: 'QR code for your authenticator app', width: 196, height: 196 }) : m('.qr'),
          m('.enrol-steps', [
            m('p', 'Scan this QR code with your authenticator app (or enter the key by hand), then type the code it shows.'),
            m('p', ['Key: ', m('code.secret[data-testid=totp-secret]', enrolment.secret)]),
            m('form.inline', { onsubmit: (e: Event) => {
              e.preventDefault();
              void act('2fa', async () => {
                codes = await sec.confirmTotp(confirmCode);
                enrolment = undefined;
                qr = '';
                confirmCode = '';
                await refresh2fa();
              }, 'Two-factor authentication is on');
            } }, [
              m('.field', [m('label[for=totp-confirm]', 'Code from the app'), m('input#totp-confirm', { value: confirmCode, inputmode: 'numeric', autocomplete: 'one-time-code', required: true, oninput: (e: any) => { confirmCode = e.target.value; } })]),
              m('button.primary[type=submit]', { disabled: busy }, 'Turn on'),
              m('button[type=button]', { onclick: () => { enrolment = undefined; qr = ''; } }, 'Cancel'),
            ]),
          ]),
        ]) : twoFa && (twoFa.enabled
          ? m('.row-actions', [
            m('button[type=button]', { disabled: busy, onclick: () => act('2fa', async () => { codes = await sec.regenerateRecoveryCodes(); await refresh2fa(); }, 'New recovery codes made; the old ones no longer work') }, 'New recovery codes'),
            m('button.danger[type=button]', { disabled: busy, onclick: () => confirm('Turn off two-factor authentication?') && act('2fa', async () => { await sec.disableTotp(); await refresh2fa(); }, 'Two-factor authentication is off') }, 'Turn off'),
          ])
          : m('.row-actions', [
            m('p.hint', 'Ask for a code from an authenticator app when you sign in.'),
            m('button.primary[type=button]', { disabled: busy, onclick: () => act('2fa', async () => {
              enrolment = await sec.enrolTotp();
              qr = await qrDataUrl(enrolment.otpauth_uri);
            }) }, 'Set up two-factor authentication'),
          ])),
        notice('2fa'),
      ]);

      const passwordCard = m('section.card', { 'aria-labelledby': 'password-title' }, [
        m('h2#password-title', 'Password'),
        m('form', { onsubmit: (e: Event) => {
          e.preventDefault();
          if (newPassword !== repeat) { where = 'password'; status = ''; error = 'The two new passwords differ'; return; }
          void act('password', async () => { await sec.changePassword(newPassword, signOutOthers); newPassword = ''; repeat = ''; }, 'Password changed');
        } }, [
          m('.field', [m('label[for=new-password]', 'New password'), m('input#new-password[type=password]', { value: newPassword, minlength: 8, required: true, autocomplete: 'new-password', oninput: (e: any) => { newPassword = e.target.value; } })]),
          m('.field', [m('label[for=repeat-password]', 'Repeat new password'), m('input#repeat-password[type=password]', { value: repeat, required: true, autocomplete: 'new-password', oninput: (e: any) => { repeat = e.target.value; } })]),
          m('label.check', [m('input[type=checkbox]', { checked: signOutOthers, onchange: (e: any) => { signOutOthers = e.target.checked; } }), ' Sign out my other sessions']),
          m('.row-actions', m('button.primary[type=submit]', { disabled: busy }, 'Change password')),
        ]),
        notice('password'),
      ]);

      const emailCard = m('section.card', { 'aria-labelledby': 'email-title' }, [
        m('h2#email-title', 'Email'),
        !emails ? m('p.hint', 'Loading…') : emails.length ? m('ul.emails', emails.map((a) => m('li', { key: a }, [
          m('span', a),
          m('button.danger[type=button]', { 'aria-label': `Remove ${a}`, onclick: () => act('email', async () => { await sec.removeEmail(a); emails = await sec.emails(); }, `${a} removed`) }, 'Remove'),
        ]))) : m('p.hint', 'No email address yet. One lets you reset a forgotten password.'),
        pendingEmail ? [
          m('p', ['We sent a link to ', m('strong', pendingEmail.address), '. Open it, then come back and press Finish.']),
          m('.row-actions', [
            m('button.primary[type=button]', { disabled: busy, onclick: () => act('email', async () => { await sec.addEmail(pendingEmail!); pendingEmail = undefined; emails = await sec.emails(); }, 'Email address added') }, 'Finish'),
            m('button[type=button]', { onclick: () => { pendingEmail = undefined; } }, 'Cancel'),
          ]),
        ] : m('form.inline', { onsubmit: (e: Event) => { e.preventDefault(); void act('email', async () => { pendingEmail = await sec.requestEmail(emailInput); emailInput = ''; }); } }, [
          m('.field', [m('label[for=email-input]', 'Add an email address'), m('input#email-input[type=email]', { value: emailInput, required: true, autocomplete: 'email', oninput: (e: any) => { emailInput = e.target.value; } })]),
          m('button[type=submit]', { disabled: busy }, 'Send link'),
        ]),
        notice('email'),
      ]);

      const audienceSelect = (id: string, key: keyof Privacy) => m('select', { id, value: privacy![key], onchange: (e: any) => {
        const change = { [key]: e.target.value as Audience };
        void act('privacy', async () => { privacy = await chat.friends.setPrivacy(change); }, 'Privacy saved');
      } }, [m('option[value=friends]', 'Friends only'), m('option[value=everyone]', 'Everyone')]);
      const privacyCard = m('section.card', { 'aria-labelledby': 'privacy-title' }, [
        m('h2#privacy-title', 'Privacy'),
        !privacy ? m('p.hint', 'Loading…') : [
          m('.privacy-row', [m('label[for=privacy-dm]', 'Who can send me direct messages'), audienceSelect('privacy-dm', 'dm_from')]),
          m('.privacy-row', [m('label[for=privacy-groups]', 'Who can invite me to groups'), audienceSelect('privacy-groups', 'group_invites_from')]),
        ],
        m('.privacy-row', [
          m('span', `Blocked users: ${chat.friends.blocked.length}`),
          m(m.route.Link, { href: '/friends/blocked', class: 'button-link' }, 'Manage blocked users'),
        ]),
        notice('privacy'),
      ]);

      const auditCard = m('section.card', { 'aria-labelledby': 'audit-title' }, [
        m('h2#audit-title', 'Audit log'),
        m('.audit-tools', [
          m('label.visually-hidden[for=audit-kind]', 'Show'),
          m('select#audit-kind', { value: String(filter), onchange: (e: any) => { filter = Number(e.target.value); void loadAudit(false); } },
            AUDIT_FILTERS.map(([label], i) => m('option', { value: String(i) }, label))),
          m('button[type=button]', { disabled: busy, onclick: () => loadAudit(false) }, auditLoaded ? 'Refresh' : 'Show log'),
          m('.spacer'),
          m('button[type=button]', { onclick: () => act('audit', async () => { const f = await sec.exportAudit('json', AUDIT_FILTERS[filter][1]); saveFile(f.blob, f.filename); }, 'Exported') }, 'Export JSON'),
          m('button[type=button]', { onclick: () => act('audit', async () => { const f = await sec.exportAudit('csv', AUDIT_FILTERS[filter][1]); saveFile(f.blob, f.filename); }, 'Exported') }, 'Export CSV'),
        ]),
        auditLoaded && (entries.length === 0 ? m('p.hint', 'Nothing recorded.') : m('table.audit-table', [
          m('thead', m('tr', [m('th', 'When'), m('th', 'What'), m('th', 'From'), m('th', 'Details')])),
          m('tbody', entries.map((e) => m('tr', { key: e.id }, [
            m('td', new Date(e.ts).toLocaleString()),
            m('td', m('code', e.kind)),
            m('td', [e.ip ?? '', e.device_id ? ` · ${e.device_id}` : '']),
            m('td.details', Object.keys(e.details).length ? JSON.stringify(e.details) : ''),
          ]))),
        ])),
        nextBatch && m('.row-actions', m('button[type=button]', { disabled: busy, onclick: () => loadAudit(true) }, 'Load older')),
        notice('audit'),
      ]);

      return m('.security', [
        m('h2.settings-group', 'Security'),
        passwordCard, twoFaCard, emailCard, privacyCard, auditCard,
      ]);
    },
  };
}
