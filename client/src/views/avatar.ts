/** A round avatar: the picture when there is one, else the first letter on a colour from the name. */
import m from 'mithril';
import type { MediaCache } from '../state/media.ts';

function hue(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

export function avatar(media: MediaCache | undefined, name: string, mxc: string | undefined, size = 40): m.Vnode {
  const url = media?.url(mxc, { w: size * 2, h: size * 2 });
  const letter = (name.replace(/^[@#!]/, '')[0] ?? '?').toUpperCase();
  return m('span.avatar', { 'aria-hidden': 'true', style: { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.45)}px`, background: url ? 'transparent' : `hsl(${hue(name)} 45% 42%)` } },
    url ? m('img', { src: url, alt: '' }) : letter);
}
