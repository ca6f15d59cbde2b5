/**
 * The webmail: log in, folders with unread counts, the message list (newest first, pages on demand), reading
 * (plain text or sanitized HTML in a sandboxed iframe, attachments), writing and sending, flags, delete to
 * Trash, and new mail without reload (JMAP push over EventSource, a poll of Email/changes while it is down).
 * Everything after login is JMAP.
 */
import { h, render, type VNode } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { CATALOGUES, initialLanguage, translator, type MessageKey } from './i18n.ts';
import { csrfToken, Jmap, loadSession, login, logout, SessionEnded } from './jmap.ts';
import { sanitizeMail } from './html-mail.ts';

type T = (key: MessageKey) => string;
/** A rendered element; Preact's per-element prop types add nothing here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type El = VNode<any>;
interface Mailbox { id: string; name: string; role: string | null; sortOrder: number; unreadEmails: number; totalEmails: number }
interface Addr { name: string | null; email: string }
interface ListItem { id: string; from: Addr[] | null; subject: string | null; preview: string; receivedAt: string; keywords: Record<string, boolean>; hasAttachment: boolean }
interface BodyPart { partId: string; blobId: string; type: string; name: string | null; size: number }
interface FullEmail extends ListItem { to: Addr[] | null; cc: Addr[] | null; textBody: BodyPart[]; htmlBody: BodyPart[]; attachments: BodyPart[]; bodyValues: Record<string, { value: string }> }

const PAGE = 50;
const POLL_MS = 2000;
const LIST_PROPS = ['from', 'subject', 'preview', 'receivedAt', 'keywords', 'hasAttachment'];

const who = (a: Addr[] | null): string => (a ?? []).map((x) => x.name || x.email).join(', ');
const fmtDate = (iso: string, lang: string): string => {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString(lang);
};
const roleOrder = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];
const mailboxRank = (m: Mailbox): number => { const i = roleOrder.indexOf(m.role ?? ''); return i < 0 ? roleOrder.length : i; };

function LoginForm(props: { t: T; onDone: () => void; notice: string }): El {
  const { t } = props;
  const [error, setError] = useState(props.notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    try {
      const r = await login(String(data.get('address') ?? ''), String(data.get('password') ?? ''));
      if (r.ok) props.onDone();
      else setError(r.status === 429 ? t('throttled') : r.status === 401 ? t('loginFailed') : t('serverError'));
    } catch {
      setError(t('serverError'));
    } finally {
      setBusy(false);
    }
  };
  return h('main', { class: 'login' },
    h('form', { onSubmit: submit, 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, t('title')),
      h('label', null, t('address'), h('input', { name: 'address', type: 'email', autocomplete: 'username', required: true })),
      h('label', null, t('password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      h('button', { type: 'submit', disabled: busy }, t('login'))));
}

function MailFrame(props: { html: string; t: T }): El {
  const [allow, setAllow] = useState(false);
  useEffect(() => setAllow(false), [props.html]);
  const { doc, blocked } = sanitizeMail(props.html, allow);
  return h('div', { class: 'html-mail' },
    blocked > 0 && !allow ? h('p', { class: 'notice' }, props.t('remoteBlocked'), ' ', h('button', { type: 'button', onClick: () => setAllow(true) }, props.t('showImages'))) : null,
    // No allow-scripts and no allow-same-origin: the mail runs nothing and cannot reach the app.
    h('iframe', { title: 'message', sandbox: 'allow-popups allow-popups-to-escape-sandbox', srcDoc: doc, referrerpolicy: 'no-referrer' }));
}

function Reader(props: { jmap: Jmap; email: FullEmail; t: T; lang: string; onChanged: () => void; trashId: string | null }): El {
  const { email: m, t, jmap } = props;
  const html = m.htmlBody.find((p) => p.type === 'text/html');
  const text = m.textBody.map((p) => m.bodyValues[p.partId]?.value ?? '').join('\n');
  const setKeyword = async (k: string, on: boolean): Promise<void> => {
    await jmap.call([['Email/set', { accountId: jmap.session.accountId, update: { [m.id]: { [`keywords/${k}`]: on ? true : null } } }, 's']]);
    props.onChanged();
  };
  const remove = async (): Promise<void> => {
    const accountId = jmap.session.accountId;
    if (props.trashId) await jmap.call([['Email/set', { accountId, update: { [m.id]: { mailboxIds: { [props.trashId]: true } } } }, 'd']]);
    else await jmap.call([['Email/set', { accountId, destroy: [m.id] }, 'd']]);
    props.onChanged();
  };
  const seen = !!m.keywords.$seen;
  const flagged = !!m.keywords.$flagged;
  return h('article', { class: 'reader', 'aria-label': m.subject ?? t('noSubject') },
    h('div', { class: 'toolbar' },
      h('button', { type: 'button', onClick: () => setKeyword('$seen', !seen) }, seen ? t('markUnread') : t('markRead')),
      h('button', { type: 'button', onClick: () => setKeyword('$flagged', !flagged) }, flagged ? t('unflag') : t('flag')),
      h('button', { type: 'button', onClick: remove }, t('delete'))),
    h('h2', null, m.subject || t('noSubject')),
    h('dl', { class: 'headers' },
      h('dt', null, t('from')), h('dd', null, (m.from ?? []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(', ')),
      h('dt', null, t('to')), h('dd', null, (m.to ?? []).map((a) => a.email).join(', ')),
      m.cc?.length ? [h('dt', null, t('cc')), h('dd', null, m.cc.map((a) => a.email).join(', '))] : null,
      h('dt', null, t('date')), h('dd', null, new Date(m.receivedAt).toLocaleString(props.lang))),
    html ? h(MailFrame, { html: m.bodyValues[html.partId]?.value ?? '', t }) : h('pre', { class: 'text-mail' }, text),
    m.attachments.length ? h('section', { class: 'attachments' }, h('h3', null, t('attachments')),
      h('ul', null, m.attachments.map((a) => h('li', { key: a.partId },
        h('a', { href: jmap.downloadUrl(a.blobId, a.name ?? 'attachment', a.type), download: a.name ?? 'attachment' }, a.name ?? 'attachment'),
        ` (${Math.ceil(a.size / 1024)} KB)`)))) : null);
}

function Composer(props: { jmap: Jmap; t: T; mailboxes: Mailbox[]; onClose: (sent: boolean) => void }): El {
  const { jmap, t } = props;
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const send = async (e: Event): Promise<void> => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const accountId = jmap.session.accountId;
    const to = String(data.get('to') ?? '').split(/[,;]/).map((s) => s.trim()).filter(Boolean).map((email) => ({ email }));
    const drafts = props.mailboxes.find((m) => m.role === 'drafts') ?? props.mailboxes.find((m) => m.role === 'inbox')!;
    const sent = props.mailboxes.find((m) => m.role === 'sent');
    setBusy(true);
    try {
      const ids = await jmap.call([['Identity/get', { accountId }, 'i']]);
      const identity = (ids.i!.list as { id: string; email: string; name: string }[]).find((x) => x.email.toLowerCase() === jmap.session.username.toLowerCase()) ?? ids.i!.list[0];
      const r = await jmap.call([
        ['Email/set', { accountId, create: { draft: {
          mailboxIds: { [drafts.id]: true },
          keywords: { $draft: true, $seen: true },
          from: [{ name: identity?.name || null, email: identity?.email ?? jmap.session.username }],
          to,
          subject: String(data.get('subject') ?? ''),
          bodyValues: { body: { value: String(data.get('body') ?? '') } },
          textBody: [{ partId: 'body', type: 'text/plain' }],
        } } }, 'e'],
        ['EmailSubmission/set', {
          accountId,
          create: { sub: { identityId: identity?.id, emailId: '#draft' } },
          onSuccessUpdateEmail: { '#sub': sent ? { [`mailboxIds/${drafts.id}`]: null, [`mailboxIds/${sent.id}`]: true, 'keywords/$draft': null } : { 'keywords/$draft': null } },
        }, 's'],
      ]);
      const notCreated = r.e?.notCreated?.draft ?? r.s?.notCreated?.sub;
      if (notCreated) setError(`${t('sendFailed')} ${notCreated.description ?? notCreated.type}`);
      else props.onClose(true);
    } catch (err) {
      setError(`${t('sendFailed')} ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return h('form', { class: 'composer', onSubmit: send, 'aria-label': t('compose') },
    h('label', null, t('to'), h('input', { name: 'to', type: 'text', required: true, autocomplete: 'email' })),
    h('label', null, t('subject'), h('input', { name: 'subject', type: 'text' })),
    h('textarea', { name: 'body', rows: 14, 'aria-label': t('compose') }),
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', disabled: busy }, t('send')),
      h('button', { type: 'button', onClick: () => props.onClose(false) }, t('cancel'))));
}

function Mail(props: { jmap: Jmap; t: T; lang: string; setLang: (l: string) => void; onLogout: () => void; onEnded: () => void }): El {
  const { jmap, t } = props;
  const accountId = jmap.session.accountId;
  const [mailboxes, setMailboxes] = useState<Mailbox[]>([]);
  const [current, setCurrent] = useState<string | null>(null);
  const [items, setItems] = useState<ListItem[]>([]);
  const [total, setTotal] = useState(0);
  const [open, setOpen] = useState<FullEmail | null>(null);
  const [composing, setComposing] = useState(false);
  const [notice, setNotice] = useState('');
  const state = useRef<string | null>(null);
  const shown = useRef(PAGE);

  const guard = useCallback(async (f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (err) {
      if (err instanceof SessionEnded) props.onEnded();
      else setNotice(String((err as Error).message));
    }
  }, []);

  const refresh = useCallback((mailboxId: string | null, count: number) => guard(async () => {
    const calls: [string, Record<string, unknown>, string][] = [['Mailbox/get', { accountId, ids: null }, 'm']];
    if (mailboxId) {
      calls.push(['Email/query', { accountId, filter: { inMailbox: mailboxId }, sort: [{ property: 'receivedAt', isAscending: false }], position: 0, limit: count, calculateTotal: true }, 'q']);
      calls.push(['Email/get', { accountId, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPS }, 'g']);
    }
    const r = await jmap.call(calls);
    const boxes = (r.m!.list as Mailbox[]).slice().sort((a, b) => mailboxRank(a) - mailboxRank(b) || a.sortOrder - b.sortOrder || a.name.localeCompare(b.name));
    setMailboxes(boxes);
    if (!mailboxId) {
      const inbox = boxes.find((b) => b.role === 'inbox') ?? boxes[0];
      if (inbox) setCurrent(inbox.id);
      return;
    }
    setItems(r.g!.list as ListItem[]);
    setTotal(r.q!.total as number);
    state.current ??= r.g!.state as string;
  }), []);

  useEffect(() => { void refresh(current, shown.current); }, [current]);
  const currentRef = useRef(current);
  currentRef.current = current;

  // RFC 8620 §7.3: push over EventSource (the cookie goes with it; a GET needs no CSRF token). Each state
  // change reloads the list and the counts; the poll below stands in while the stream is down.
  const pushing = useRef(false);
  useEffect(() => {
    const url = jmap.session.eventSourceUrl.replace('{types}', 'Email,Mailbox').replace('{closeafter}', 'no').replace('{ping}', '60');
    const es = new EventSource(url);
    es.onopen = () => { pushing.current = true; };
    es.onerror = () => { pushing.current = false; };
    es.addEventListener('state', () => void refresh(currentRef.current, shown.current));
    return () => es.close();
  }, []);

  // Without push: Email/changes since the state last seen (RFC 8620 §5.2), every few seconds.
  useEffect(() => {
    const timer = setInterval(() => void guard(async () => {
      if (pushing.current || !state.current || document.hidden) return;
      const r = await jmap.call([['Email/changes', { accountId, sinceState: state.current, maxChanges: 500 }, 'c']]).catch((err) => {
        if (err instanceof SessionEnded) throw err;
        return null;
      });
      const c = r?.c;
      if (c && c.oldState === c.newState) return;
      if (c) state.current = c.newState as string;
      else state.current = null;
      await refresh(current, shown.current);
    }), POLL_MS);
    return () => clearInterval(timer);
  }, [current]);

  const openEmail = (id: string): Promise<void> => guard(async () => {
    const r = await jmap.call([['Email/get', { accountId, ids: [id], properties: [...LIST_PROPS, 'to', 'cc', 'textBody', 'htmlBody', 'attachments', 'bodyValues'], fetchTextBodyValues: true, fetchHTMLBodyValues: true }, 'g']]);
    const email = (r.g!.list as FullEmail[])[0];
    if (!email) return;
    setComposing(false);
    if (!email.keywords.$seen) {
      await jmap.call([['Email/set', { accountId, update: { [id]: { 'keywords/$seen': true } } }, 's']]);
      setOpen({ ...email, keywords: { ...email.keywords, $seen: true } });
      await refresh(current, shown.current);
    } else {
      setOpen(email);
    }
  });

  const afterChange = (): Promise<void> => guard(async () => {
    const id = open?.id;
    await refresh(current, shown.current);
    if (id) {
      const r = await jmap.call([['Email/get', { accountId, ids: [id], properties: ['mailboxIds', 'keywords'] }, 'g']]);
      const e = r.g!.list[0] as { keywords: Record<string, boolean>; mailboxIds: Record<string, boolean> } | undefined;
      if (!e || (current && !e.mailboxIds[current])) setOpen(null);
      else setOpen((o) => (o ? { ...o, keywords: e.keywords } : o));
    }
  });

  const trash = mailboxes.find((m) => m.role === 'trash');
  return h('div', { class: 'app' },
    h('header', null,
      h('h1', null, 'Postamt'),
      h('span', { class: 'user' }, jmap.session.username),
      h('label', { class: 'lang' }, t('language'), ' ',
        h('select', { value: props.lang, onChange: (e: Event) => props.setLang((e.target as HTMLSelectElement).value) },
          Object.keys(CATALOGUES).map((l) => h('option', { key: l, value: l }, l.toUpperCase())))),
      h('button', { type: 'button', onClick: props.onLogout }, t('logout'))),
    h('nav', { 'aria-label': t('mailboxes') },
      h('button', { type: 'button', class: 'compose', onClick: () => { setComposing(true); setOpen(null); } }, t('compose')),
      h('ul', null, mailboxes.map((m) => h('li', { key: m.id },
        h('button', { type: 'button', class: m.id === current ? 'mailbox current' : 'mailbox', 'aria-current': m.id === current ? 'true' : undefined, 'data-role': m.role ?? '',
          onClick: () => { shown.current = PAGE; state.current = null; setOpen(null); setCurrent(m.id); } },
        h('span', { class: 'name' }, m.name),
        m.unreadEmails > 0 ? h('span', { class: 'count', 'aria-label': `${m.unreadEmails} ${t('unread')}` }, String(m.unreadEmails)) : null))))),
    h('section', { class: 'list', 'aria-label': mailboxes.find((m) => m.id === current)?.name ?? '' },
      notice ? h('p', { class: 'error', role: 'alert' }, notice) : null,
      items.length === 0 ? h('p', { class: 'empty' }, t('noMessages')) : h('ul', null, items.map((m) => h('li', { key: m.id },
        h('button', { type: 'button', 'data-id': m.id, class: `item${m.keywords.$seen ? '' : ' unread'}${open?.id === m.id ? ' open' : ''}`, onClick: () => openEmail(m.id) },
          h('span', { class: 'from' }, who(m.from)),
          h('span', { class: 'marks' },
            m.keywords.$flagged ? h('span', { class: 'flag', title: t('flagged'), 'aria-label': t('flagged') }, '⚑') : null,
            m.hasAttachment ? h('span', { class: 'clip', title: t('hasAttachment'), 'aria-label': t('hasAttachment') }, '📎') : null,
            m.keywords.$seen ? null : h('span', { class: 'dot', title: t('unread'), 'aria-label': t('unread') }, '●')),
          h('time', { dateTime: m.receivedAt }, fmtDate(m.receivedAt, props.lang)),
          h('span', { class: 'subject' }, m.subject || t('noSubject')),
          h('span', { class: 'preview' }, m.preview))))),
      items.length < total ? h('button', { type: 'button', class: 'more', onClick: () => { shown.current += PAGE; void refresh(current, shown.current); } }, t('loadMore')) : null),
    h('section', { class: 'pane' },
      composing ? h(Composer, { jmap, t, mailboxes, onClose: (sent: boolean) => { setComposing(false); if (sent) { setNotice(''); void refresh(current, shown.current); } } })
        : open ? h(Reader, { jmap, email: open, t, lang: props.lang, onChanged: afterChange, trashId: trash && trash.id !== current ? trash.id : null })
          : h('p', { class: 'empty' }, t('selectMessage'))));
}

function App(): El {
  const [lang, setLangState] = useState(initialLanguage());
  const [jmap, setJmap] = useState<Jmap | null>(null);
  const [phase, setPhase] = useState<'loading' | 'login' | 'mail'>('loading');
  const [notice, setNotice] = useState('');
  const t = translator(lang);
  const setLang = (l: string): void => { localStorage.setItem('postamt.lang', l); setLangState(l); };
  useEffect(() => { document.documentElement.lang = lang; document.title = t('title'); }, [lang]);

  const start = async (): Promise<void> => {
    // Without the CSRF cookie there is no session: asking would only earn a 401.
    if (!csrfToken()) { setPhase('login'); return; }
    try {
      setJmap(new Jmap(await loadSession()));
      setPhase('mail');
    } catch {
      setPhase('login');
    }
  };
  useEffect(() => { void start(); }, []);

  if (phase === 'loading') return h('p', { class: 'empty' }, t('loading'));
  if (phase === 'login' || !jmap) return h(LoginForm, { t, notice, onDone: () => { setNotice(''); void start(); } });
  return h(Mail, {
    jmap, t, lang, setLang,
    onLogout: () => void logout().finally(() => { setJmap(null); setPhase('login'); }),
    onEnded: () => { setNotice(t('sessionEnded')); setJmap(null); setPhase('login'); },
  });
}

render(h(App, null), document.getElementById('app')!);
