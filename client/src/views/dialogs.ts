/** Small modal forms: start a DM, create a group or a voice channel, invite someone. */
import m from 'mithril';
import type { AppModel } from '../app.ts';
import { encryptToggle } from './encryption.ts';
import { roomHref } from './sidebar.ts';

interface Attrs { app: AppModel }

function userIdFrom(input: string, ownUserId: string): string {
  const v = input.trim();
  if (v.startsWith('@')) return v;
  return `@${v}:${ownUserId.split(':').slice(1).join(':')}`;
}

export function DialogView(): m.Component<Attrs> {
  let value = '';
  let name = '';
  let error = '';
  let busy = false;
  let encrypted = false;
  return {
    view: ({ attrs: { app } }) => {
      const dialog = app.dialog;
      if (!dialog || dialog.kind === 'go-live') return null;
      const chat = app.chat!;
      const close = () => { app.dialog = undefined; value = ''; name = ''; error = ''; encrypted = false; };
      const run = async (e: Event, act: () => Promise<string | void>) => {
        e.preventDefault();
        busy = true;
        error = '';
        try {
          const roomId = await act();
          close();
          if (roomId) m.route.set(roomHref(roomId));
        } catch (err) {
          error = (err as Error).message;
        } finally {
          busy = false;
          m.redraw();
        }
      };
      const people = () => value.split(/[\s,]+/).filter(Boolean).map((u) => userIdFrom(u, chat.userId));
      const named = dialog.kind === 'group' || dialog.kind === 'voice';
      const title = dialog.kind === 'dm' ? 'Start a direct message' : dialog.kind === 'group' ? 'Create a group chat'
        : dialog.kind === 'voice' ? 'Create a voice channel' : 'Invite to this chat';
      const submit = (e: Event) => run(e, async () => {
        if (dialog.kind === 'dm') return chat.startDm(userIdFrom(value, chat.userId));
        if (dialog.kind === 'group') return chat.createGroup(name.trim() || 'New group', people(), encrypted);
        if (dialog.kind === 'voice') return chat.createVoiceChannel(name.trim() || 'Voice', people());
        for (const u of people()) await chat.invite(dialog.roomId, u);
      });
      return m('.overlay', { onclick: (e: Event) => { if (e.target === e.currentTarget) close(); }, onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape') close(); } },
        m('form.dialog[role=dialog][aria-modal=true]', { 'aria-labelledby': 'dialog-title', onsubmit: submit }, [
          m('h2#dialog-title', title),
          named && m('.field', [m('label[for=group-name]', dialog.kind === 'voice' ? 'Channel name' : 'Group name'),
            m('input#group-name', { value: name, oninput: (e: any) => { name = e.target.value; }, oncreate: (v) => (v.dom as HTMLElement).focus() })]),
          m('.field', [
            m('label[for=dialog-users]', dialog.kind === 'dm' ? 'Username or user id' : 'People to invite (usernames or user ids, comma-separated)'),
            m('input#dialog-users', { value, placeholder: '@friend:server', oninput: (e: any) => { value = e.target.value; }, required: !named,
              oncreate: (v) => !named && (v.dom as HTMLElement).focus() }),
          ]),
          dialog.kind === 'group' && encryptToggle(app, encrypted, (on) => { encrypted = on; }),
          error && m('p.error[role=alert]', error),
          m('.actions', [
            m('button[type=button]', { onclick: close }, 'Cancel'),
            m('button.primary[type=submit]', { disabled: busy }, dialog.kind === 'dm' ? 'Open DM' : named ? 'Create' : 'Invite'),
          ]),
        ]));
    },
  };
}
