/** Received HTML (formatted message bodies) is sanitized to a small allow-list before it is shown. */
import DOMPurify from 'dompurify';
import m from 'mithril';

const ALLOWED_TAGS = ['a', 'b', 'strong', 'i', 'em', 'u', 's', 'del', 'code', 'pre', 'blockquote', 'p', 'br', 'ul', 'ol', 'li',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'sup', 'sub'];

let hooked = false;

export function sanitize(html: string): string {
  if (!hooked) {
    hooked = true;
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
  }
  return DOMPurify.sanitize(html, { ALLOWED_TAGS, ALLOWED_ATTR: ['href', 'title'], ALLOWED_URI_REGEXP: /^(?:https?|mailto):/i });
}

export function trustedHtml(html: string): m.Vnode {
  return m.trust(sanitize(html)) as unknown as m.Vnode;
}
