/**
 * Reading: one message or a whole conversation (the earlier ones folded), plain text or sanitized HTML with
 * its cid: images, the attachments with sizes and download links, who it is really from (SPF/DKIM/DMARC of
 * Postamt's Authentication-Results), the original source on request, the delivery timeline of a sent
 * message on request, and the actions on the message.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { parseAuthResults } from './auth-results.ts';
import { Delivery } from './delivery.ts';
import { addrList, fmtSize } from './format.ts';
import { sanitizeMail } from './html-mail.ts';
import type { Jmap } from './jmap.ts';
import { allowSender, senderAllowed } from './remote-content.ts';
import type { El, FullEmail, T } from './types.ts';

export interface ReaderActions {
  reply: (m: FullEmail, all: boolean) => void;
  forward: (m: FullEmail) => void;
  toggleKeyword: (ids: string[], keyword: string, on: boolean) => void;
  archive: (ids: string[]) => void;
  spam: (ids: string[]) => void;
  remove: (ids: string[]) => void;
}

const blobToDataUrl = (b: Blob): Promise<string> => new Promise((resolve, reject) => {
  const r = new FileReader();
  r.onload = () => resolve(String(r.result));
  r.onerror = () => reject(r.error);
  r.readAsDataURL(b);
});

function MailFrame(props: { jmap: Jmap; m: FullEmail; html: string; t: T }): El {
  const { m, t } = props;
  const sender = m.from?.[0]?.email;
  const [allow, setAllow] = useState(senderAllowed(sender));
  const [cids, setCids] = useState<Record<string, string> | null>(null);
  useEffect(() => {
    setAllow(senderAllowed(sender));
    const inline = [...m.htmlBody, ...m.attachments].filter((p) => p.cid && p.type.startsWith('image/'));
    if (inline.length === 0) { setCids({}); return; }
    let live = true;
    void Promise.all(inline.map(async (p) => [p.cid!.replace(/^<|>$/g, ''), await blobToDataUrl(await props.jmap.blob(p.blobId, p.type))] as const))
      .then((pairs) => { if (live) setCids(Object.fromEntries(pairs)); }, () => { if (live) setCids({}); });
    return () => { live = false; };
  }, [m.id]);
  if (cids === null) return h('p', { class: 'empty' }, t('loading'));
  const { doc, blocked } = sanitizeMail(props.html, allow, cids);
  return h('div', { class: 'html-mail' },
    blocked > 0 && !allow ? h('p', { class: 'notice', role: 'status' }, t('remoteBlocked'), ' ',
      h('button', { type: 'button', onClick: () => setAllow(true) }, t('showImages')), ' ',
      sender ? h('button', { type: 'button', onClick: () => { allowSender(sender); setAllow(true); } }, t('alwaysShowFrom', { sender })) : null) : null,
    // No allow-scripts and no allow-same-origin: the mail runs nothing and cannot reach the app.
    h('iframe', { title: t('messageBody'), sandbox: 'allow-popups allow-popups-to-escape-sandbox', srcDoc: doc, referrerpolicy: 'no-referrer' }));
}

function Verdicts(props: { m: FullEmail; t: T }): El | null {
  const verdicts = parseAuthResults(props.m['header:Authentication-Results:asText:all']?.[0]);
  if (verdicts.length === 0) return null;
  return h('ul', { class: 'verdicts', 'aria-label': props.t('authResults') }, verdicts.map((v) => h('li', { key: v.method, class: `verdict ${v.result === 'pass' ? 'pass' : v.result === 'fail' ? 'fail' : 'other'}` },
    `${v.method.toUpperCase()}: ${v.result}${v.detail ? ` (${v.detail})` : ''}`)));
}

function Source(props: { jmap: Jmap; m: FullEmail; t: T }): El {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => { void props.jmap.blob(props.m.blobId, 'message/rfc822').then((b) => b.text()).then(setText, (e: Error) => setText(e.message)); }, [props.m.id]);
  return h('section', { class: 'source', 'aria-label': props.t('source') },
    h('a', { href: props.jmap.downloadUrl(props.m.blobId, 'message.eml', 'message/rfc822'), download: 'message.eml' }, props.t('downloadEml')),
    h('pre', null, text ?? props.t('loading')));
}

function Body(props: { jmap: Jmap; m: FullEmail; t: T }): El {
  const { m, t, jmap } = props;
  const html = m.htmlBody.find((p) => p.type === 'text/html');
  const text = m.textBody.map((p) => m.bodyValues[p.partId]?.value ?? '').join('\n');
  // Inline images shown in the HTML are not listed again as attachments.
  const shown = new Set(html ? m.htmlBody.filter((p) => p.cid).map((p) => p.partId) : []);
  const files = m.attachments.filter((a) => !shown.has(a.partId) && !(html && a.cid && a.disposition !== 'attachment'));
  return h('div', { class: 'body' },
    html ? h(MailFrame, { jmap, m, html: m.bodyValues[html.partId]?.value ?? '', t }) : h('pre', { class: 'text-mail' }, text),
    files.length ? h('section', { class: 'attachments', 'aria-label': t('attachments') }, h('h3', null, t('attachments')),
      h('ul', null, files.map((a) => h('li', { key: a.partId },
        h('a', { href: jmap.downloadUrl(a.blobId, a.name ?? 'attachment', a.type), download: a.name ?? 'attachment' }, a.name ?? t('unnamed')),
        h('span', { class: 'size' }, ` ${fmtSize(a.size)}`))))) : null);
}

function Message(props: { jmap: Jmap; m: FullEmail; t: T; lang: string; expanded: boolean; onExpand: () => void; actions: ReaderActions; sentMailboxId: string | null; onEnded: () => void }): El {
  const { m, t, actions } = props;
  const [source, setSource] = useState(false);
  const [delivery, setDelivery] = useState(false);
  // A copy in Sent has a delivery timeline on the server (found by its Message-ID, only for its sender).
  const sentId = props.sentMailboxId !== null && m.mailboxIds[props.sentMailboxId] ? m.messageId?.[0] ?? null : null;
  if (!props.expanded) {
    return h('button', { type: 'button', class: 'folded', onClick: props.onExpand },
      h('strong', null, addrList(m.from)), ' — ', m.preview);
  }
  const seen = !!m.keywords.$seen;
  const flagged = !!m.keywords.$flagged;
  return h('article', { class: 'message', 'aria-label': m.subject ?? t('noSubject') },
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': t('actions') },
      h('button', { type: 'button', onClick: () => actions.reply(m, false) }, t('reply')),
      h('button', { type: 'button', onClick: () => actions.reply(m, true) }, t('replyAll')),
      h('button', { type: 'button', onClick: () => actions.forward(m) }, t('forward')),
      h('button', { type: 'button', onClick: () => actions.toggleKeyword([m.id], '$seen', !seen) }, seen ? t('markUnread') : t('markRead')),
      h('button', { type: 'button', onClick: () => actions.toggleKeyword([m.id], '$flagged', !flagged) }, flagged ? t('unflag') : t('flag')),
      h('button', { type: 'button', onClick: () => actions.archive([m.id]) }, t('archive')),
      h('button', { type: 'button', onClick: () => actions.spam([m.id]) }, t('spam')),
      h('button', { type: 'button', onClick: () => actions.remove([m.id]) }, t('delete')),
      h('button', { type: 'button', 'aria-pressed': source, onClick: () => setSource(!source) }, t('showSource')),
      sentId ? h('button', { type: 'button', 'aria-pressed': delivery, onClick: () => setDelivery(!delivery) }, t('delivery')) : null),
    h('dl', { class: 'headers' },
      h('dt', null, t('from')), h('dd', null, addrList(m.from)),
      h('dt', null, t('to')), h('dd', null, addrList(m.to)),
      m.cc?.length ? [h('dt', null, t('cc')), h('dd', null, addrList(m.cc))] : null,
      h('dt', null, t('date')), h('dd', null, new Date(m.sentAt ?? m.receivedAt).toLocaleString(props.lang))),
    h(Verdicts, { m, t }),
    sentId && delivery ? h(Delivery, { messageId: sentId, t, lang: props.lang, onEnded: props.onEnded }) : null,
    source ? h(Source, { jmap: props.jmap, m, t }) : h(Body, { jmap: props.jmap, m, t }));
}

export function Reader(props: { jmap: Jmap; thread: FullEmail[]; t: T; lang: string; actions: ReaderActions; sentMailboxId: string | null; onEnded: () => void }): El {
  const { thread, t } = props;
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  useEffect(() => setExpanded(new Set()), [thread[thread.length - 1]?.id]);
  const last = thread[thread.length - 1]!;
  return h('div', { class: 'reader' },
    h('h2', { tabIndex: -1, id: 'reader-title' }, last.subject || t('noSubject')),
    thread.length > 1 ? h('p', { class: 'muted' }, t('messagesInThread', { n: thread.length })) : null,
    thread.map((m) => h(Message, {
      key: m.id, jmap: props.jmap, m, t, lang: props.lang, actions: props.actions, sentMailboxId: props.sentMailboxId, onEnded: props.onEnded,
      expanded: m.id === last.id || expanded.has(m.id) || !m.keywords.$seen,
      onExpand: () => setExpanded(new Set([...expanded, m.id])),
    })));
}
