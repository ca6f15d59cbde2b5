/**
 * HTML mail made safe to show: DOMPurify removes scripts, handlers and other active content, remote images are
 * taken out (kept aside until the user allows them), and the result goes into a sandboxed srcdoc iframe without
 * allow-scripts whose own CSP loads nothing remote unless allowed: two barriers, each enough on its own.
 */
import DOMPurify from 'dompurify';

const REMOTE = /^\s*(https?:)?\/\//i;

/**
 * `cids` maps a Content-ID (without brackets) to a data: URL of that inline part, so `cid:` images show
 * without any load from outside the document.
 */
export function sanitizeMail(html: string, allowRemote: boolean, cids: Record<string, string> = {}): { doc: string; blocked: number } {
  let blocked = 0;
  const purify = DOMPurify();
  purify.addHook('afterSanitizeAttributes', (node) => {
    const el = node as Element;
    for (const attr of ['src', 'srcset', 'background', 'poster']) {
      const v = el.getAttribute?.(attr);
      // RFC 2392: a cid: URL names a part of this message by its Content-ID.
      const cid = v ? /^\s*cid:(.+)$/i.exec(v) : null;
      if (cid) {
        const url = cids[decodeURIComponent(cid[1]!.trim()).replace(/^<|>$/g, '')];
        if (url) el.setAttribute(attr, url);
        else el.removeAttribute(attr);
        continue;
      }
      if (v && (REMOTE.test(v) || attr === 'srcset') && !allowRemote) {
        el.removeAttribute(attr);
        blocked++;
      }
    }
    if (el.tagName === 'A') {
      el.setAttribute('target', '_blank');
      el.setAttribute('rel', 'noopener noreferrer');
    }
  });
  const clean = purify.sanitize(html, { FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'link', 'meta', 'base'], FORBID_ATTR: ['action', 'formaction'] }) as string;
  const img = allowRemote ? 'data: https: http:' : 'data:';
  const csp = `default-src 'none'; img-src ${img}; style-src 'unsafe-inline'; font-src data:`;
  const doc = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><base target="_blank"></head><body>${clean}</body></html>`;
  return { doc, blocked };
}
