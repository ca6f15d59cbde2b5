/**
 * The signed-in screen: folders, the message list (flat or by conversation, a folder or a search), the reader,
 * the composer and the settings; the actions on the selection; new mail by JMAP push; keyboard shortcuts.
 */
import { h } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { MailActions } from './actions.ts';
import { Composer, emptyCompose, type ComposeState } from './composer.ts';
import { Folders, roleName } from './folders.ts';
import { addrList, fullAddr, parseAddresses, prefixed, quote } from './format.ts';
import { SessionEnded, type Jmap } from './jmap.ts';
import { ListCache } from './list-cache.ts';
import { MessageList, ROW_PX } from './message-list.ts';
import { Reader, type ReaderActions } from './reader.ts';
import { SearchBar, searchFilter, type SearchFields } from './search.ts';
import { Settings, signatureOf, type Prefs } from './settings.ts';
import { handleShortcut, Shortcuts } from './shortcuts.ts';
import { FULL_PROPS, PART_PROPS, type El, type FullEmail, type Identity, type Mailbox, type T } from './types.ts';

const POLL_MS = 2000;

/** What the first screen needs: the folders with their counts, and the identities, in one request. */
export interface Startup { mailboxes: Mailbox[]; identities: Identity[] }
const MAILBOX_PROPS = ['name', 'parentId', 'role', 'sortOrder', 'unreadEmails', 'totalEmails'];

/**
 * Asked for as soon as the session is known, before the mail screen is first drawn, so the first list page
 * can be asked for the moment the inbox's id arrives (one round trip instead of a render and two requests).
 */
export async function loadStartup(jmap: Jmap): Promise<Startup> {
  const accountId = jmap.session.accountId;
  const r = await jmap.call([
    ['Mailbox/get', { accountId, ids: null, properties: MAILBOX_PROPS }, 'm'],
    ['Identity/get', { accountId }, 'i'],
  ]);
  return { mailboxes: r.m.list as Mailbox[], identities: r.i.list as Identity[] };
}

export interface MailProps { jmap: Jmap; startup: Promise<Startup>; t: T; lang: string; prefs: Prefs; setPrefs: (p: Prefs) => void; onLogout: () => void; onEnded: () => void }

export function Mail(props: MailProps): El {
  const { jmap, t } = props;
  const accountId = jmap.session.accountId;
  const actions = useMemo(() => new MailActions(jmap), [jmap]);
  const [mailboxes, setMailboxes] = useState<Mailbox[]>([]);
  const [identities, setIdentities] = useState<Identity[]>([]);
  const [known, setKnown] = useState<string[]>([]);
  const [current, setCurrent] = useState<string | null>(null);
  const [threads, setThreads] = useState(localStorage.getItem('postamt.threads') === '1');
  const [search, setSearch] = useState<SearchFields | null>(null);
  const [version, setVersion] = useState(0);
  const [cursor, setCursor] = useState(-1);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [anchor, setAnchor] = useState(-1);
  const [thread, setThread] = useState<FullEmail[] | null>(null);
  const [composing, setComposing] = useState<ComposeState | null>(null);
  const [pane, setPane] = useState<'mail' | 'settings' | 'help'>('mail');
  const [notice, setNotice] = useState<{ text: string; undo?: () => void } | null>(null);
  const [confirmEmpty, setConfirmEmpty] = useState(false);
  const pendingSend = useRef<ReturnType<typeof setTimeout>>();
  const bump = useCallback(() => setVersion((v) => v + 1), []);
  // A notice without an action goes away by itself.
  useEffect(() => {
    if (!notice || notice.undo) return;
    const timer = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(timer);
  }, [notice]);

  const guard = useCallback(async (f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (err) {
      if (err instanceof SessionEnded) props.onEnded();
      else setNotice({ text: String((err as Error).message) });
    }
  }, []);

  const currentBox = mailboxes.find((m) => m.id === current);
  const filter = useMemo(() => {
    const f = search ? searchFilter(search) : null;
    return f ?? (current ? { inMailbox: current } : null);
  }, [search, current]);
  const listError = useCallback((err: unknown) => void guard(() => Promise.reject(err)), []);
  const cache = useMemo(() => {
    if (!filter) return null;
    const c = new ListCache(jmap, { filter, collapseThreads: threads }, bump, listError);
    // A new list starts at the top: its first page is asked for now, not after the list is drawn empty.
    c.ensure(0, 0);
    return c;
  }, [filter, threads]);
  useEffect(() => { setSelected(new Set()); setCursor(-1); }, [cache]);

  const showMailboxes = (boxes: Mailbox[]): void => {
    setMailboxes(boxes);
    setCurrent((c) => (c && boxes.some((b) => b.id === c) ? c : (boxes.find((b) => b.role === 'inbox') ?? boxes[0])?.id ?? null));
  };
  const loadMailboxes = useCallback(() => guard(async () => {
    const r = await jmap.call([['Mailbox/get', { accountId, ids: null, properties: MAILBOX_PROPS }, 'm']]);
    showMailboxes(r.m.list as Mailbox[]);
  }), []);
  // The addresses for completion: the people written to (Sent) and heard from (the inbox), asked for only when
  // the composer first opens, as two newest-first pages of one folder each (the store's cheap query).
  const peopleLoaded = useRef(false);
  const loadPeople = (boxes: Mailbox[]): Promise<void> => guard(async () => {
    if (peopleLoaded.current) return;
    peopleLoaded.current = true;
    const calls: [string, Record<string, unknown>, string][] = [];
    for (const role of ['sent', 'inbox']) {
      const box = boxes.find((m) => m.role === role);
      if (!box) continue;
      calls.push(['Email/query', { accountId, filter: { inMailbox: box.id }, sort: [{ property: 'receivedAt', isAscending: false }], limit: 200 }, `q${role}`]);
      calls.push(['Email/get', { accountId, '#ids': { resultOf: `q${role}`, name: 'Email/query', path: '/ids' }, properties: ['from', 'to', 'cc'] }, `g${role}`]);
    }
    if (calls.length === 0) return;
    const r = await jmap.call(calls);
    const seen = new Map<string, string>();
    for (const key of ['gsent', 'ginbox']) for (const e of (r[key]?.list ?? []) as FullEmail[]) for (const a of [...(e.to ?? []), ...(e.cc ?? []), ...(e.from ?? [])]) if (!seen.has(a.email.toLowerCase())) seen.set(a.email.toLowerCase(), fullAddr(a));
    seen.delete(jmap.session.username.toLowerCase());
    setKnown([...seen.values()]);
  });

  useEffect(() => {
    void guard(async () => {
      const first = await props.startup;
      showMailboxes(first.mailboxes);
      setIdentities(first.identities);
    });
  }, []);
  useEffect(() => { if (composing && mailboxes.length) void loadPeople(mailboxes); }, [composing !== null, mailboxes.length > 0]);

  // The list first, the folders' counts once it is drawn: the server answers in turn, and the rows (a new
  // message, the list after a move) are what the person waits for.
  const reloadAll = useCallback(() => {
    if (cache) void guard(() => cache.refresh(cache.first, cache.last)).then(loadMailboxes);
    else void loadMailboxes();
  }, [cache]);
  const reloadRef = useRef(reloadAll);
  reloadRef.current = reloadAll;

  // RFC 8620 §7.3: push over EventSource (the cookie goes with it; a GET needs no CSRF token).
  const pushing = useRef(false);
  const state = useRef<string | null>(null);
  useEffect(() => {
    const url = jmap.session.eventSourceUrl.replace('{types}', 'Email,Mailbox').replace('{closeafter}', 'no').replace('{ping}', '60');
    const es = new EventSource(url);
    es.onopen = () => { pushing.current = true; state.current = null; };
    es.onerror = () => { pushing.current = false; };
    es.addEventListener('state', () => reloadRef.current());
    return () => es.close();
  }, []);
  // Without push: Email/changes since the state last seen (RFC 8620 §5.2), every few seconds.
  useEffect(() => {
    const timer = setInterval(() => void guard(async () => {
      if (pushing.current || document.hidden) return;
      if (!state.current) {
        const r = await jmap.call([['Email/get', { accountId, ids: [], properties: ['id'] }, 'g']]);
        state.current = r.g.state as string;
        return;
      }
      const r = await jmap.call([['Email/changes', { accountId, sinceState: state.current, maxChanges: 500 }, 'c']]).catch((err) => {
        if (err instanceof SessionEnded) throw err;
        return null;
      });
      const c = r?.c;
      if (c && c.oldState === c.newState) return;
      state.current = c ? (c.newState as string) : null;
      reloadRef.current();
    }), POLL_MS);
    return () => clearInterval(timer);
  }, []);

  const fetchFull = async (ids: string[]): Promise<FullEmail[]> => {
    const r = await jmap.call([['Email/get', { accountId, ids, properties: FULL_PROPS, bodyProperties: PART_PROPS, fetchTextBodyValues: true, fetchHTMLBodyValues: true }, 'g']]);
    return r.g.list as FullEmail[];
  };

  const openIndex = (index: number): Promise<void> => guard(async () => {
    const item = cache?.item(index);
    if (!item) return;
    setCursor(index);
    setComposing(null);
    setPane('mail');
    let emails: FullEmail[];
    if (threads) {
      const r = await jmap.call([
        ['Thread/get', { accountId, ids: [item.threadId] }, 't'],
        ['Email/get', { accountId, '#ids': { resultOf: 't', name: 'Thread/get', path: '/list/*/emailIds' }, properties: FULL_PROPS, bodyProperties: PART_PROPS, fetchTextBodyValues: true, fetchHTMLBodyValues: true }, 'g'],
      ]);
      const trash = mailboxes.filter((m) => m.role === 'trash' || m.role === 'junk').map((m) => m.id);
      emails = (r.g.list as FullEmail[]).filter((e) => e.id === item.id || !trash.some((id) => e.mailboxIds[id]) || trash.includes(current ?? ''));
      emails.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
    } else {
      emails = await fetchFull([item.id]);
    }
    if (emails.length === 0) return;
    setThread(emails);
    const unread = emails.filter((e) => !e.keywords.$seen).map((e) => e.id);
    if (unread.length) {
      await actions.setKeyword(unread, '$seen', true);
      setThread(emails.map((e) => ({ ...e, keywords: { ...e.keywords, $seen: true } })));
    }
  });

  /** The emails an action on these list rows means: in conversation view, the whole thread in this folder. */
  const expand = async (ids: string[]): Promise<string[]> => {
    if (!threads || !cache) return ids;
    const threadIds = ids.map((id) => cache.items.get(id)?.threadId).filter((x): x is string => !!x);
    return threadIds.length ? actions.threadEmails(threadIds, search ? null : current) : ids;
  };
  const afterChange = async (removedIds: string[] = []): Promise<void> => {
    if (thread && removedIds.length) {
      const left = thread.filter((m) => !removedIds.includes(m.id));
      setThread(left.length ? left : null);
    }
    setSelected(new Set());
    reloadAll();
    if (thread) {
      const fresh = await fetchFull(thread.filter((m) => !removedIds.includes(m.id)).map((m) => m.id));
      setThread(fresh.length ? fresh : null);
    }
  };
  const moveTo = (ids: string[], to: string, keywords: Record<string, boolean | null> = {}): Promise<void> => guard(async () => {
    if (to === current && !search) return;
    await actions.move(ids, search ? null : current, to, keywords);
    await afterChange(ids);
  });
  const act: ReaderActions & { move: (ids: string[], to: string) => void } = {
    reply: (m, all) => {
      const me = jmap.session.username.toLowerCase();
      const to = m.replyTo?.length ? m.replyTo : m.from ?? [];
      const cc = all ? [...(m.to ?? []), ...(m.cc ?? [])].filter((a) => a.email.toLowerCase() !== me && !to.some((x) => x.email === a.email)) : [];
      const text = m.textBody.map((p) => m.bodyValues[p.partId]?.value ?? '').join('\n') || m.preview;
      const when = new Date(m.sentAt ?? m.receivedAt).toLocaleString(props.lang);
      // RFC 5322 §3.6.4: In-Reply-To is the parent's Message-ID; References is the parent's References (or its
      // In-Reply-To) followed by the parent's Message-ID.
      const parentIds = m.messageId ?? [];
      setComposing({
        ...emptyCompose(), to: addrList(to), cc: addrList(cc), subject: prefixed('Re', m.subject),
        body: `\n\n${signatureOf(identities[0])}${t('wrote', { date: when, who: addrList(m.from) })}\n${quote(text)}\n`,
        inReplyTo: parentIds.length ? parentIds : null, references: parentIds.length ? [...(m.references ?? []), ...parentIds] : null, replyOf: m.id,
      });
      setPane('mail');
    },
    forward: (m) => {
      const text = m.textBody.map((p) => m.bodyValues[p.partId]?.value ?? '').join('\n') || m.preview;
      const head = [`${t('from')}: ${addrList(m.from)}`, `${t('date')}: ${new Date(m.sentAt ?? m.receivedAt).toLocaleString(props.lang)}`, `${t('subject')}: ${m.subject ?? ''}`, `${t('to')}: ${addrList(m.to)}`].join('\n');
      setComposing({
        ...emptyCompose(), subject: prefixed('Fwd', m.subject),
        body: `\n\n${signatureOf(identities[0])}${t('forwarded')}\n${head}\n\n${text}\n`,
        attachments: m.attachments.map((a, i) => ({ key: `f${i}`, name: a.name ?? 'attachment', type: a.type, size: a.size, blobId: a.blobId, progress: 1 })),
      });
      setPane('mail');
    },
    toggleKeyword: (ids, keyword, on) => void guard(async () => { await actions.setKeyword(await expand(ids), keyword, on); await afterChange(); }),
    archive: (ids) => void guard(async () => moveTo(await expand(ids), await actions.folderFor(mailboxes, 'archive', 'Archive'))),
    spam: (ids) => void guard(async () => moveTo(await expand(ids), await actions.folderFor(mailboxes, 'junk', 'Junk'), { $junk: true, $notjunk: null })),
    remove: (ids) => void guard(async () => {
      const all = await expand(ids);
      const trash = mailboxes.find((m) => m.role === 'trash');
      if (!trash || trash.id === current) { await actions.destroy(all); await afterChange(all); } else await moveTo(all, trash.id);
    }),
    move: (ids, to) => void guard(async () => moveTo(await expand(ids), to)),
  };

  const send = (s: ComposeState): void => {
    const drafts = mailboxes.find((m) => m.role === 'drafts') ?? mailboxes.find((m) => m.role === 'inbox')!;
    const sent = mailboxes.find((m) => m.role === 'sent');
    const identity = identities.find((i) => i.id === s.identityId) ?? identities[0];
    setComposing(null);
    clearTimeout(pendingSend.current);
    // Undo send: the server holds the message for the undo time (a delayed send), so "Undo" really takes
    // it back, and closing the page does not lose it.
    const hold = Math.max(0, Math.min(props.prefs.undoSeconds, jmap.session.maxDelayedSend));
    const recipients = [...new Set(parseAddresses(`${s.to},${s.cc},${s.bcc}`).map((a) => a.email))];
    setNotice({ text: t('sending') });
    void guard(async () => {
      const where = { drafts: drafts.id, sent: sent?.id ?? null, answered: s.replyOf };
      const submissionId = await actions.submit({ draftId: s.draftId!, identityId: identity!.id, from: identity!.email, recipients, holdSeconds: hold, ...where });
      reloadAll();
      if (hold === 0) { setNotice({ text: t('sent') }); return; }
      pendingSend.current = setTimeout(() => { setNotice({ text: t('sent') }); reloadAll(); }, hold * 1000);
      setNotice({
        text: t('sendingIn', { n: hold }),
        undo: () => {
          clearTimeout(pendingSend.current);
          void guard(async () => {
            if (await actions.cancel({ submissionId, ...where })) { setNotice(null); setComposing(s); } else setNotice({ text: t('tooLateToUndo') });
            reloadAll();
          });
        },
      });
    });
  };

  const folderOps = {
    create: (name: string) => actions.mailboxSet({ create: { n: { name, parentId: null } } }).then((e) => { void loadMailboxes(); return e; }),
    rename: (id: string, name: string) => guard(async () => { const e = await actions.mailboxSet({ update: { [id]: { name } } }); if (e) setNotice({ text: e }); void loadMailboxes(); }),
    remove: (id: string) => guard(async () => {
      const e = await actions.mailboxSet({ destroy: [id], onDestroyRemoveEmails: false });
      if (e) setNotice({ text: e === 'mailboxHasEmail' ? t('folderNotEmpty') : e });
      else setCurrent(mailboxes.find((m) => m.role === 'inbox')?.id ?? null);
      void loadMailboxes();
    }),
  };

  const selectRow = (index: number, range: boolean): void => {
    if (!cache) return;
    const next = new Set(selected);
    const id = cache.ids[index];
    if (!id) return;
    if (range && anchor >= 0) {
      const on = !selected.has(id);
      for (let i = Math.min(anchor, index); i <= Math.max(anchor, index); i++) { const x = cache.ids[i]; if (x) { if (on) next.add(x); else next.delete(x); } }
    } else if (next.has(id)) next.delete(id); else next.add(id);
    setAnchor(index);
    setSelected(next);
  };

  const visibleRows = (): number => Math.max(1, Math.floor((document.querySelector('.list-scroll')?.clientHeight ?? 600) / ROW_PX));
  const shortcutTarget = {
    move: (delta: number) => { if (!cache || cache.total <= 0) return; const n = Math.min(cache.total - 1, Math.max(0, cursor + delta)); setCursor(n); },
    page: (dir: number) => { if (!cache || cache.total <= 0) return; const n = Math.min(cache.total - 1, Math.max(0, cursor + dir * visibleRows())); setCursor(n); },
    open: () => { if (cursor >= 0) void openIndex(cursor); },
    compose: () => { setComposing({ ...emptyCompose(), body: signatureOf(identities[0]) ? `\n\n${signatureOf(identities[0])}` : '' }); setPane('mail'); },
    reply: (all: boolean) => { const m = thread?.[thread.length - 1]; if (m) act.reply(m, all); },
    forward: () => { const m = thread?.[thread.length - 1]; if (m) act.forward(m); },
    targetIds: (): string[] => (selected.size ? [...selected] : thread ? [thread[thread.length - 1]!.id] : cache?.ids[cursor] ? [cache.ids[cursor]!] : []),
    act,
    toggle: (keyword: string) => {
      const ids = shortcutTarget.targetIds();
      const first = cache?.items.get(ids[0] ?? '') ?? thread?.find((m) => m.id === ids[0]);
      if (ids.length) act.toggleKeyword(ids, keyword, !first?.keywords[keyword]);
    },
    select: () => { if (cursor >= 0) selectRow(cursor, false); },
    search: () => (document.getElementById('search-input') as HTMLInputElement | null)?.focus(),
    help: () => setPane(pane === 'help' ? 'mail' : 'help'),
    escape: () => { if (composing) return; if (pane !== 'mail') setPane('mail'); else if (thread) setThread(null); else setSelected(new Set()); },
  };
  const shortcutsRef = useRef(shortcutTarget);
  shortcutsRef.current = shortcutTarget;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => handleShortcut(e, shortcutsRef.current, !!composingRef.current);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const composingRef = useRef(composing);
  composingRef.current = composing;

  const trash = mailboxes.find((m) => m.role === 'trash');
  const sel = [...selected];
  const pickFolder = (id: string): void => { setSearch(null); setCurrent(id); setThread(null); setPane('mail'); };
  const listTitle = search ? t('searchResults') : currentBox ? roleName(currentBox, t) : '';
  const movable = mailboxes.filter((m) => m.id !== current);

  return h('div', { class: `app${thread || composing || pane !== 'mail' ? ' reading' : ''}` },
    h('a', { class: 'skip', href: '#list' }, t('skipToList')),
    h('header', null,
      h('h1', null, 'Postamt'),
      h('span', { class: 'user' }, jmap.session.username),
      h('button', { type: 'button', onClick: () => setPane(pane === 'settings' ? 'mail' : 'settings'), 'aria-pressed': pane === 'settings' }, t('settings')),
      h('button', { type: 'button', onClick: props.onLogout }, t('logout'))),
    h('nav', { 'aria-label': t('mailboxes') },
      h('button', { type: 'button', class: 'compose primary', onClick: shortcutTarget.compose }, t('compose')),
      h(Folders, { t, mailboxes, current: search ? null : current, onPick: pickFolder, onDrop: (ids, to) => act.move(ids, to), onCreate: folderOps.create })),
    h('section', { class: 'list', id: 'list', 'aria-label': listTitle },
      h(SearchBar, { t, mailboxes, active: !!search, onSearch: (s) => { setSearch(s); setThread(null); } }),
      h('div', { class: 'list-head' },
        h('h2', null, listTitle, cache && cache.total >= 0 ? h('span', { class: 'muted total' }, ` ${t('countMessages', { n: cache.total })}`) : null),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: threads, onChange: () => { localStorage.setItem('postamt.threads', threads ? '0' : '1'); setThreads(!threads); setThread(null); } }), t('conversations')),
        currentBox && !currentBox.role && !search ? [
          h('button', { key: 'r', type: 'button', onClick: () => { const name = (document.getElementById('rename-folder') as HTMLInputElement | null)?.value; if (name) void folderOps.rename(currentBox.id, name); } }, t('renameFolder')),
          h('input', { key: 'n', id: 'rename-folder', 'aria-label': t('folderName'), defaultValue: currentBox.name }),
          h('button', { key: 'd', type: 'button', onClick: () => void folderOps.remove(currentBox.id) }, t('deleteFolder')),
        ] : null,
        currentBox?.role === 'trash' && !search && (cache?.total ?? 0) > 0
          ? (confirmEmpty
              ? h('button', { type: 'button', class: 'danger', onClick: () => { setConfirmEmpty(false); void guard(async () => { await actions.empty(currentBox.id); await afterChange(thread?.map((m) => m.id) ?? []); }); } }, t('confirmEmptyTrash'))
              : h('button', { type: 'button', onClick: () => setConfirmEmpty(true) }, t('emptyTrash')))
          : null),
      sel.length ? h('div', { class: 'toolbar bulk', role: 'toolbar', 'aria-label': t('selectionActions') },
        h('span', null, t('selectedCount', { n: sel.length })),
        h('button', { type: 'button', onClick: () => act.toggleKeyword(sel, '$seen', true) }, t('markRead')),
        h('button', { type: 'button', onClick: () => act.toggleKeyword(sel, '$seen', false) }, t('markUnread')),
        h('button', { type: 'button', onClick: () => act.toggleKeyword(sel, '$flagged', true) }, t('flag')),
        h('button', { type: 'button', onClick: () => act.archive(sel) }, t('archive')),
        h('button', { type: 'button', onClick: () => act.spam(sel) }, t('spam')),
        h('button', { type: 'button', onClick: () => act.remove(sel) }, t('delete')),
        h('label', null, t('moveTo'), ' ', h('select', { value: '', onChange: (e: Event) => { const v = (e.target as HTMLSelectElement).value; if (v) act.move(sel, v); } },
          h('option', { value: '' }, '…'), movable.map((m) => h('option', { key: m.id, value: m.id }, roleName(m, t))))),
        h('button', { type: 'button', onClick: () => setSelected(new Set()) }, t('clearSelection'))) : null,
      cache ? h(MessageList, {
        cache, version, t, lang: props.lang, cursor, selected, openId: thread?.[thread.length - 1]?.id ?? null,
        sentView: currentBox?.role === 'sent' && !search, onOpen: (i) => void openIndex(i), onSelect: selectRow,
      }) : null),
    h('section', { class: 'pane', 'aria-label': t('readingPane') },
      (thread || composing || pane !== 'mail') ? h('button', { type: 'button', class: 'back', onClick: () => { setThread(null); setComposing(null); setPane('mail'); } }, t('back')) : null,
      pane === 'settings' ? h(Settings, { jmap, t, identities, onIdentities: setIdentities, prefs: props.prefs, setPrefs: props.setPrefs, onEnded: props.onEnded })
        : pane === 'help' ? h(Shortcuts, { t })
          : composing ? h(Composer, {
            key: composing.draftId ?? 'new', jmap, t, mailboxes, identities, known, initial: composing, onSend: send, onEnded: props.onEnded,
            onClose: () => { setComposing(null); reloadAll(); },
          })
            : thread ? h(Reader, { jmap, thread, t, lang: props.lang, actions: act, sentMailboxId: mailboxes.find((m) => m.role === 'sent')?.id ?? null, onEnded: props.onEnded })
              : h('p', { class: 'empty' }, t('selectMessage'))),
    notice ? h('div', { class: 'toast', role: 'status' }, notice.text, ' ',
      notice.undo ? h('button', { type: 'button', onClick: notice.undo }, t('undo')) : null,
      h('button', { type: 'button', 'aria-label': t('dismiss'), onClick: () => setNotice(null) }, '✕')) : null,
    trash ? null : null);
}
