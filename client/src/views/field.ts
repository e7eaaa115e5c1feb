/** A labelled input of the sign-in forms, with an optional hint under it. */
import m from 'mithril';

export const field = (id: string, label: string, attrs: Record<string, unknown>, hint?: string) => m('.field', [
  m('label', { for: id }, label),
  m('input', { id, ...attrs }),
  hint && m('small.hint', hint),
]);
