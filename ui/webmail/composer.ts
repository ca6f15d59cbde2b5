/**
 * Writing: From (an identity), To/Cc/Bcc with completion, subject, text, attachments uploaded with a progress
 * bar. The draft is saved in Drafts with $draft a moment after each change (RFC 8621 §4.6: an email cannot be
 * changed, so the new version is created and the old one destroyed in one Email/set). Sending hands the saved
 * draft to the app, which submits it after the undo delay.
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { AddressField } from './address-field.ts';
import { fmtSize, parseAddresses } from './format.ts';
import { SessionEnded, type Jmap } from './jmap.ts';
import type { El, Identity, Mailbox, T } from './types.ts';

export interface Attachment { key: string; name: string; type: string; size: number; blobId: string | null; progress: number; error?: string }

export interface ComposeState {
  identityId: string | null;
  to: string; cc: string; bcc: string; subject: string; body: string;
  inReplyTo: string[] | null; references: string[] | null;
  /** The email replied to: it gets $answered when this one is sent. */
  replyOf: string | null;
  attachments: Attachment[];
  draftId: string | null;
}

export const emptyCompose = (): ComposeState => ({ identityId: null, to: '', cc: '', bcc: '', subject: '', body: '', inReplyTo: null, references: null, replyOf: null, attachments: [], draftId: null });

const SAVE_DELAY_MS = 1500;
let attachmentKeys = 0;

export function draftEmail(s: ComposeState, identity: Identity | undefined, drafts: Mailbox, fallbackEmail: string): Record<string, unknown> {
  const list = (v: string): { name: string | null; email: string }[] | null => { const a = parseAddresses(v); return a.length ? a : null; };
  return {
    mailboxIds: { [drafts.id]: true },
    keywords: { $draft: true, $seen: true },
    from: [{ name: identity?.name || null, email: identity?.email ?? fallbackEmail }],
    ...(identity?.replyTo?.length ? { replyTo: identity.replyTo } : {}),
    to: list(s.to), cc: list(s.cc), bcc: list(s.bcc),
    subject: s.subject,
    ...(s.inReplyTo ? { inReplyTo: s.inReplyTo } : {}),
    ...(s.references ? { references: s.references } : {}),
    bodyValues: { body: { value: s.body } },
    textBody: [{ partId: 'body', type: 'text/plain' }],
    attachments: s.attachments.filter((a) => a.blobId).map((a) => ({ blobId: a.blobId, type: a.type || 'application/octet-stream', name: a.name, disposition: 'attachment' })),
  };
}

export function Composer(props: {
  jmap: Jmap; t: T; mailboxes: Mailbox[]; identities: Identity[]; known: readonly string[]; initial: ComposeState;
  onSend: (s: ComposeState) => void; onClose: () => void; onEnded: () => void;
}): El {
  const { jmap, t } = props;
  const [s, setS] = useState<ComposeState>(props.initial);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const latest = useRef(s);
  latest.current = s;
  const saving = useRef<Promise<void>>(Promise.resolve());
  const dirty = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const drafts = props.mailboxes.find((m) => m.role === 'drafts') ?? props.mailboxes.find((m) => m.role === 'inbox')!;
  const identity = props.identities.find((i) => i.id === s.identityId) ?? props.identities[0];

  const save = (): Promise<void> => {
    clearTimeout(timer.current);
    if (!dirty.current) return saving.current;
    dirty.current = false;
    saving.current = saving.current.then(async () => {
      const cur = latest.current;
      const accountId = jmap.session.accountId;
      try {
        const r = await jmap.call([['Email/set', { accountId, create: { d: draftEmail(cur, identity, drafts, jmap.session.username) }, destroy: cur.draftId ? [cur.draftId] : [] }, 's']]);
        const created = r.s.created?.d as { id: string } | undefined;
        if (!created) { setError(`${t('draftFailed')} ${r.s.notCreated?.d?.description ?? ''}`); return; }
        latest.current = { ...latest.current, draftId: created.id };
        setS((x) => ({ ...x, draftId: created.id }));
        setStatus(t('draftSaved'));
      } catch (err) {
        if (err instanceof SessionEnded) props.onEnded();
        else setError(`${t('draftFailed')} ${(err as Error).message}`);
      }
    });
    return saving.current;
  };
  const change = (patch: Partial<ComposeState>): void => {
    setS((x) => ({ ...x, ...patch }));
    dirty.current = true;
    setStatus('');
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void save(), SAVE_DELAY_MS);
  };
  useEffect(() => () => clearTimeout(timer.current), []);

  const addFiles = (files: FileList | null): void => {
    for (const file of Array.from(files ?? [])) {
      const key = `a${++attachmentKeys}`;
      const a: Attachment = { key, name: file.name, type: file.type, size: file.size, blobId: null, progress: 0 };
      const patch = (p: Partial<Attachment>): void => setS((x) => ({ ...x, attachments: x.attachments.map((y) => (y.key === key ? { ...y, ...p } : y)) }));
      setS((x) => ({ ...x, attachments: [...x.attachments, a] }));
      jmap.upload(file, (progress) => patch({ progress })).then((r) => {
        patch({ blobId: r.blobId, progress: 1 });
        latest.current = { ...latest.current, attachments: latest.current.attachments.map((y) => (y.key === key ? { ...y, blobId: r.blobId } : y)) };
        change({});
      }, (err: Error) => patch({ error: err.message }));
    }
  };

  const uploading = s.attachments.some((a) => !a.blobId && !a.error);
  const send = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (uploading) return;
    if (parseAddresses(`${s.to},${s.cc},${s.bcc}`).length === 0) { setError(t('noRecipients')); return; }
    dirty.current = true;
    await save();
    if (!latest.current.draftId) return;
    props.onSend(latest.current);
  };
  const close = async (): Promise<void> => { await save(); props.onClose(); };

  return h('form', { class: 'composer', onSubmit: send, 'aria-label': t('compose'), onKeyDown: (e: KeyboardEvent) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e); } },
    h('h2', null, t('compose')),
    props.identities.length > 1 ? h('label', null, t('from'), h('select', { value: identity?.id, onChange: (e: Event) => change({ identityId: (e.target as HTMLSelectElement).value }) },
      props.identities.map((i) => h('option', { key: i.id, value: i.id }, i.name ? `${i.name} <${i.email}>` : i.email)))) : null,
    h(AddressField, { label: t('to'), name: 'to', value: s.to, known: props.known, onInput: (to) => change({ to }), autoFocus: !s.to }),
    h(AddressField, { label: t('cc'), name: 'cc', value: s.cc, known: props.known, onInput: (cc) => change({ cc }) }),
    h(AddressField, { label: t('bcc'), name: 'bcc', value: s.bcc, known: props.known, onInput: (bcc) => change({ bcc }) }),
    h('label', null, t('subject'), h('input', { name: 'subject', type: 'text', value: s.subject, onInput: (e: Event) => change({ subject: (e.target as HTMLInputElement).value }) })),
    h('label', null, t('messageText'), h('textarea', { name: 'body', rows: 14, value: s.body, autoFocus: !!s.to, onInput: (e: Event) => change({ body: (e.target as HTMLTextAreaElement).value }) })),
    h('div', { class: 'attach' },
      h('label', { class: 'file-button' }, t('attach'), h('input', { type: 'file', multiple: true, onChange: (e: Event) => { addFiles((e.target as HTMLInputElement).files); (e.target as HTMLInputElement).value = ''; } })),
      h('ul', { 'aria-label': t('attachments') }, s.attachments.map((a) => h('li', { key: a.key },
        a.name, ` (${fmtSize(a.size)}) `,
        a.error ? h('span', { class: 'error' }, a.error)
          : a.blobId ? null : h('progress', { max: 1, value: a.progress, 'aria-label': t('uploading', { name: a.name }) }),
        h('button', { type: 'button', 'aria-label': t('removeAttachment', { name: a.name }), onClick: () => change({ attachments: s.attachments.filter((x) => x.key !== a.key) }) }, '✕'))))),
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'primary', disabled: uploading }, t('send')),
      h('button', { type: 'button', onClick: () => void close() }, t('close')),
      h('span', { class: 'muted', role: 'status' }, status)));
}
