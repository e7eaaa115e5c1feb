/**
 * Markdown for outgoing messages: the plain body is what the user typed, `formatted_body` the
 * HTML `marked` makes of it when that differs from the text. What is received is sanitized
 * where it is shown (views/html.ts), never trusted as sent.
 */
import { Marked } from 'marked';

const marked = new Marked({ gfm: true, breaks: true, async: false });

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The HTML for `text`, or undefined when Markdown adds nothing to the plain text. */
export function markdownToHtml(text: string): string | undefined {
  const html = (marked.parse(text) as string).trim();
  const plain = `<p>${escapeHtml(text).replace(/\n/g, '<br>')}</p>`;
  return html === plain ? undefined : html;
}

/** Message content for `text`: `m.text` with a formatted body when Markdown was used. */
export function textContent(text: string): { msgtype: 'm.text'; body: string; format?: string; formatted_body?: string } {
  const html = markdownToHtml(text);
  return html ? { msgtype: 'm.text', body: text, format: 'org.matrix.custom.html', formatted_body: html } : { msgtype: 'm.text', body: text };
}
