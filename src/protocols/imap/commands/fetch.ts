/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5): data items and macros, body sections byte-exact from the
 * stored message, BINARY (RFC 3516), MODSEQ/CHANGEDSINCE/VANISHED (RFC 7162), PREVIEW (RFC 8970), EMAILID and
 * THREADID (RFC 8474), implicit \Seen.
 */
import { formatObjectId } from '../../../core/object-ids.ts';
import { parseMimeTree, type MimePart, type MimeTreeOptions } from '../../../message/mime-tree.ts';
import { UnknownTransferEncodingError } from '../../../message/transfer-encoding.ts';
import { formatBodyStructure } from '../bodystructure.ts';
import { formatEnvelope } from '../envelope.ts';
import { messagePreview } from '../preview.ts';
import { formatNString } from '../response.ts';
import type { ImapAccount, ImapMessageMeta } from '../backend.ts';
import { fetchHead, type SelectedMailbox } from '../selected.ts';
import { no, ok, writeOptions, type CommandContext, type CommandResult, type CommandSpec } from '../command.ts';
import { formatDateTime, parseNumber, tokenText } from '../parser/args.ts';
import { ImapSyntaxError, type Token } from '../parser/tokenizer.ts';
import { applyPartial, extractBinary, extractSection, formatSection, type Section, type SectionSpec } from '../fetch-section.ts';
import { formatSequenceSet, uidInSet, parseSequenceSet } from '../sequence-set.ts';
import { produceMetaFetch, type MetaItem } from './fetch-meta.ts';
import { headerSectionItem, readHeader, type HeaderSectionItem } from './header-sections.ts';
import { resolveMessages, resolveSpans, selectedMailbox, type MessageRef } from './message-set.ts';

type SimpleItem = 'FLAGS' | 'UID' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'MODSEQ' | 'PREVIEW' | 'EMAILID' | 'THREADID' | 'SAVEDATE';

type FetchItem =
  | { kind: 'simple'; name: SimpleItem }
  | { kind: 'body'; label: 'BODY' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT'; peek: boolean; section: Section; partial?: { offset: number; length: number | null } }
  | { kind: 'binary'; size: boolean; peek: boolean; path: number[]; partial?: { offset: number; length: number | null } };

const MACROS: Record<string, SimpleItem[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};
/** The items the metadata path (fetch-meta.ts) answers from columns. */
const META_ITEMS = new Set<SimpleItem>(['FLAGS', 'UID', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ', 'EMAILID', 'THREADID', 'SAVEDATE']);
const SIMPLE = new Set<string>(['FLAGS', 'UID', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'MODSEQ', 'PREVIEW', 'EMAILID', 'THREADID', 'SAVEDATE']);

function parsePath(text: string): { path: number[]; rest: string } {
  const path: number[] = [];
  let rest = text;
  for (;;) {
    const m = /^(\d{1,9})(?:\.|$)/.exec(rest);
    if (m === null) break;
    const n = Number(m[1]);
    if (n === 0) throw new ImapSyntaxError('Invalid part number');
    path.push(n);
    rest = rest.slice(m[0].length);
  }
  return { path, rest };
}

function parseSection(tokens: Token[]): Section {
  if (tokens.length === 0) return { path: [], spec: '', fields: [] };
  const { path, rest } = parsePath(tokenText(tokens[0]!, 'section'));
  const spec = rest.toUpperCase();
  const specs: SectionSpec[] = ['', 'HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME'];
  if (!specs.includes(spec as SectionSpec)) throw new ImapSyntaxError('Invalid section');
  if (spec === 'MIME' && path.length === 0) throw new ImapSyntaxError('MIME needs a part number');
  let fields: string[] = [];
  if (spec === 'HEADER.FIELDS' || spec === 'HEADER.FIELDS.NOT') {
    const list = tokens[1];
    if (list?.type !== 'list' || list.items.length === 0 || tokens.length !== 2) throw new ImapSyntaxError('Invalid header list');
    // Field names are echoed as the client wrote them; matching is case-insensitive.
    fields = list.items.map((t) => tokenText(t, 'header field name'));
  } else if (tokens.length !== 1) throw new ImapSyntaxError('Invalid section');
  return { path, spec: spec as SectionSpec, fields };
}

function parseItem(t: Token): FetchItem[] {
  if (t.type !== 'atom') throw new ImapSyntaxError('Invalid fetch attribute');
  const name = t.value.toUpperCase();
  if (t.section === undefined) {
    if (MACROS[name] !== undefined) return MACROS[name]!.map((n) => ({ kind: 'simple', name: n }));
    if (SIMPLE.has(name)) return [{ kind: 'simple', name: name as SimpleItem }];
    if (name === 'RFC822') return [{ kind: 'body', label: 'RFC822', peek: false, section: { path: [], spec: '', fields: [] } }];
    if (name === 'RFC822.HEADER') return [{ kind: 'body', label: 'RFC822.HEADER', peek: true, section: { path: [], spec: 'HEADER', fields: [] } }];
    if (name === 'RFC822.TEXT') return [{ kind: 'body', label: 'RFC822.TEXT', peek: false, section: { path: [], spec: 'TEXT', fields: [] } }];
    throw new ImapSyntaxError(`Unknown fetch attribute ${t.value}`);
  }
  const partial = t.partial;
  if (name === 'BODY' || name === 'BODY.PEEK') {
    return [{ kind: 'body', label: 'BODY', peek: name === 'BODY.PEEK', section: parseSection(t.section), ...(partial ? { partial } : {}) }];
  }
  if (name === 'BINARY' || name === 'BINARY.PEEK' || name === 'BINARY.SIZE') {
    const text = t.section.length === 0 ? '' : tokenText(t.section[0]!, 'section');
    const { path, rest } = parsePath(text);
    if (rest !== '' || t.section.length > 1) throw new ImapSyntaxError('Invalid BINARY section');
    if (name === 'BINARY.SIZE' && partial) throw new ImapSyntaxError('BINARY.SIZE takes no partial');
    return [{ kind: 'binary', size: name === 'BINARY.SIZE', peek: name !== 'BINARY', path, ...(partial ? { partial } : {}) }];
  }
  throw new ImapSyntaxError(`Unknown fetch attribute ${t.value}`);
}

/**
 * RFC 8970 §4: `PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"]` with LAZY the only modifier. A preview
 * is always computed here, so LAZY changes nothing and the modifier list is checked and dropped.
 */
function withoutPreviewModifiers(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    out.push(t);
    const next = tokens[i + 1];
    if (t.type === 'atom' && t.section === undefined && t.value.toUpperCase() === 'PREVIEW' && next?.type === 'list') {
      for (const m of next.items) if (tokenText(m, 'preview modifier').toUpperCase() !== 'LAZY') throw new ImapSyntaxError('Unknown preview modifier');
      i++;
    }
  }
  return out;
}

function literalParts(bytes: Buffer | null, parts: (string | Buffer)[]): void {
  if (bytes === null) parts.push('NIL');
  else parts.push(`{${bytes.length}}\r\n`, bytes);
}

export const FETCH: CommandSpec = {
  states: ['selected'],
  noExpungeAfter: true,
  async handle(ctx, args) {
    const setText = args.atom('sequence set');
    const attr = args.next('fetch attributes');
    const items = withoutPreviewModifiers(attr.type === 'list' ? attr.items : [attr]).flatMap(parseItem);
    if (attr.type === 'list' && attr.items.length === 0) throw new ImapSyntaxError('Empty fetch attribute list');
    let changedSince: number | null = null;
    let vanished = false;
    const mods = args.optionalList();
    args.end();
    for (let i = 0; mods !== null && i < mods.length; i++) {
      const m = tokenText(mods[i]!, 'fetch modifier').toUpperCase();
      if (m === 'CHANGEDSINCE') changedSince = parseNumber(tokenText(mods[++i] ?? { type: 'list', items: [] }, 'modseq'), 'modseq');
      else if (m === 'VANISHED') vanished = true;
      else throw new ImapSyntaxError(`Unknown fetch modifier ${m}`);
    }
    const s = ctx.session;
    // RFC 7162 §3.2.6: VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled.
    if (vanished && (!ctx.isUid || changedSince === null || !s.enabled.has('QRESYNC'))) throw new ImapSyntaxError('VANISHED not allowed here');
    const wantsModSeq = changedSince !== null || items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ');
    if (wantsModSeq) s.enableCondstore(ctx.untagged);
    const mailbox = selectedMailbox(ctx);
    const account = s.account!;
    const needsBytes = items.some((i) => i.kind !== 'simple' || i.name === 'ENVELOPE' || i.name === 'BODYSTRUCTURE' || i.name === 'BODY' || i.name === 'PREVIEW');
    const setsSeen = !mailbox.readOnly && items.some((i) => (i.kind === 'body' || i.kind === 'binary') && !i.peek);
    // A message list's header fields (BODY.PEEK[HEADER.FIELDS (...)] beside metadata) come from the
    // account's cache of header sections, read from the header only when missing (header-sections.ts).
    const headerItems = new Map<FetchItem, HeaderSectionItem>();
    if (account.headerSections !== undefined && !setsSeen) {
      for (const i of items) {
        const h = i.kind === 'body' && i.label === 'BODY' && i.partial === undefined ? headerSectionItem(i.section) : null;
        if (h !== null) headerItems.set(i, h);
      }
    }
    const cachedHeaders = headerItems.size > 0 && items.every((i) => headerItems.has(i) || (i.kind === 'simple' && META_ITEMS.has(i.name)));
    // Metadata-only FETCH (FLAGS, UID, sizes, dates, MODSEQ: a client's resync of a big mailbox) works
    // on spans of messages and columns of metadata (fetch-meta.ts).
    const metaOnly = (!needsBytes && !setsSeen) || cachedHeaders;
    // Resolved before any output: an invalid message number is a BAD with nothing sent before it.
    const spans = metaOnly ? resolveSpans(ctx, setText) : null;
    const refs = metaOnly ? [] : resolveMessages(ctx, setText);
    if (vanished && changedSince !== null) {
      const set = parseSequenceSet(setText);
      if (set !== '$') {
        const gone = (await account.vanishedSince(mailbox.id, changedSince)).filter((u) => uidInSet(set, u, mailbox.lastUid));
        if (gone.length > 0) ctx.untagged(`VANISHED (EARLIER) ${formatSequenceSet(gone)}`);
      }
    }
    if (spans !== null) {
      const metaItems = items.map((i) => headerItems.get(i) ?? (i as { name: MetaItem }).name);
      return { status: 'DEFERRED', produce: () => produceMetaFetch({ spans, items: metaItems, isUid: ctx.isUid, wantsModSeq, changedSince, account, mailboxId: mailbox.id, uidValidity: mailbox.uidValidity, verb: ctx.verb, recent: s.rev1 && mailbox.recentCount > 0 ? (uid) => mailbox.isRecent(uid) : null,
        announceKeywords: (flags) => mailbox.announceKeywords(flags), uidOnly: s.uidOnly }) };
    }
    // ENVELOPE and the top-level header sections need only the header: the body is never read.
    // ENVELOPE is the only item that needs the message: a cached one spares the read and the parse.
    const envelopeOnly = needsBytes && account.envelopes !== undefined && items.every((i) => i.kind === 'simple' && i.name !== 'BODYSTRUCTURE' && i.name !== 'BODY' && i.name !== 'PREVIEW');
    const headerOnly = items.every((i) => (i.kind === 'simple' ? i.name !== 'BODYSTRUCTURE' && i.name !== 'BODY' && i.name !== 'PREVIEW' : i.kind === 'body' && i.section.path.length === 0 && i.section.spec.startsWith('HEADER')));
    const condstore = s.enabled.has('CONDSTORE');
    const wantsObjectIds = items.some((i) => i.kind === 'simple' && (i.name === 'EMAILID' || i.name === 'THREADID'));
    const wantsSaveDate = items.some((i) => i.kind === 'simple' && i.name === 'SAVEDATE');
    const rev1 = s.rev1;
    const verb = ctx.verb;
    const isUid = ctx.isUid;
    // Produced while the driver writes: one batch of metadata and one message in memory at a time.
    // Small responses are coalesced up to OUT_CHUNK bytes: one socket write per response cost a
    // syscall and a generator round trip per message (FETCH 1:* (UID FLAGS) was write-bound).
    async function* produce(): AsyncGenerator<string | Buffer, CommandResult, void> {
      let gone = false;
      const BATCH = 256;
      const OUT_CHUNK = 64 * 1024;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const take = (): Buffer => {
        const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        return out;
      };
      for (let start = 0; start < refs.length; start += BATCH) {
        const batch = refs.slice(start, start + BATCH);
        const metas = new Map<number, ImapMessageMeta>();
        for (const m of await account.messages(mailbox.id, batch.map((r) => r.uid))) metas.set(m.uid, m);
        const ids = wantsObjectIds ? await account.objectIds(mailbox.id, batch.map((r) => r.uid)) : null;
        const saved = wantsSaveDate ? await saveDates(account, mailbox.id, batch.map((r) => r.uid)) : null;
        const seen = setsSeen ? await markSeen(ctx, account, mailbox, batch, metas, changedSince) : null;
        for (const ref of batch) {
          const found = metas.get(ref.uid);
          let meta = found !== undefined && ids !== null ? { ...found, ...ids.get(ref.uid) } : found;
          const savedAt = saved?.get(ref.uid);
          if (meta !== undefined && savedAt !== undefined) meta = { ...meta, saveDate: new Date(savedAt) };
          if (meta === undefined) {
            gone = true; // expunged by another session, not yet reported (RFC 9051 §7.5.1)
            continue;
          }
          if (changedSince !== null && meta.modSeq <= changedSince) continue;
          const seenNow = seen?.get(ref.uid);
          if (seenNow !== undefined) meta = { ...meta, ...seenNow };
          const r = await fetchOne({ ref, meta, items, needsBytes, headerOnly, envelopeOnly, flagsChanged: seenNow !== undefined, wantsModSeq, condstore, rev1, isUid, uidOnly: s.uidOnly, utf8: s.utf8Names, account, mailbox, mime: s.limits.mime });
          if (r === 'gone') gone = true;
          else if (Array.isArray(r)) {
            const response = Buffer.concat(r.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
            pending.push(response);
            pendingBytes += response.length;
            if (pendingBytes >= OUT_CHUNK) yield take();
          } else {
            if (pendingBytes > 0) yield take();
            return r;
          }
        }
      }
      if (pendingBytes > 0) yield take();
      // RFC 2180 §4.1.2, RFC 5530 §3: some messages were expunged by another session meanwhile;
      // the rest was returned, so the command succeeds and says why data is missing.
      if (gone) return ok('Some messages were expunged', 'EXPUNGEISSUED');
      return ok(`${verb} completed`);
    }
    return { status: 'DEFERRED', produce };
  },
};

/**
 * RFC 9051 §6.4.5: a non-PEEK body fetch sets \Seen, and the new flags are reported. Set for a batch of
 * messages in one write, before their bodies are read: the write may return once committed, the session
 * sending nothing of the batch before it is durable (writeOptions). Returns the records that changed.
 */
async function markSeen(ctx: CommandContext, account: ImapAccount, mailbox: SelectedMailbox, batch: readonly MessageRef[], metas: Map<number, ImapMessageMeta>, changedSince: number | null): Promise<Map<number, ImapMessageMeta>> {
  const out = new Map<number, ImapMessageMeta>();
  const unseen: number[] = [];
  for (const ref of batch) {
    const meta = metas.get(ref.uid);
    if (meta === undefined || meta.flags.includes('\\Seen') || (changedSince !== null && meta.modSeq <= changedSince)) continue;
    unseen.push(ref.uid);
  }
  if (unseen.length === 0) return out;
  const r = await account.storeFlags(mailbox.id, unseen, 'add', ['\\Seen'], writeOptions(ctx));
  for (const changed of r.changed) {
    mailbox.noteOwnStore(changed.uid, changed.modSeq);
    out.set(changed.uid, changed);
  }
  return out;
}

/** RFC 8514 save dates of some UIDs, read as one column over their range. */
async function saveDates(account: ImapAccount, mailboxId: number, uids: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (uids.length === 0) return out;
  const from = Math.min(...uids);
  const cols = await account.metaColumns(mailboxId, { uidFrom: from, uidTo: Math.max(...uids) }, ['saveDate']);
  for (let i = 0; i < cols.count; i++) out.set(cols.uids === null ? from + i : cols.uids[i]!, cols.saveDate![i]!);
  return out;
}

interface FetchOneInput {
  ref: MessageRef;
  meta: ImapMessageMeta;
  items: FetchItem[];
  needsBytes: boolean;
  /** Only the message header is needed (ENVELOPE, BODY[HEADER...]). */
  headerOnly: boolean;
  /** ENVELOPE is the only item needing the message: it may come from account.envelopes. */
  envelopeOnly: boolean;
  /** This FETCH set \Seen on the message (markSeen): the new flags are reported. */
  flagsChanged: boolean;
  wantsModSeq: boolean;
  condstore: boolean;
  /** RFC 3501 session: FLAGS include \Recent. */
  rev1: boolean;
  isUid: boolean;
  /** RFC 9586 §3.3: a UIDFETCH response, the UID in place of the message number. */
  uidOnly: boolean;
  /** UTF-8 may go in quoted strings (IMAP4rev2 or UTF8=ACCEPT). */
  utf8: boolean;
  account: ImapAccount;
  mailbox: SelectedMailbox;
  mime: MimeTreeOptions;
}

/** One `* n FETCH (...)` response as parts; 'gone' when the message vanished; a result to stop with. */
async function fetchOne(input: FetchOneInput): Promise<(string | Buffer)[] | 'gone' | CommandResult> {
  const { ref, items, account, mailbox } = input;
  const meta = input.meta;
  let message: Buffer | null = null;
  let root: MimePart | null = null;
  const envelopeKey = input.envelopeOnly ? `${mailbox.id}/${mailbox.uidValidity}/${ref.uid}` : '';
  let envelope = input.envelopeOnly ? account.envelopes!.get(envelopeKey) : undefined;
  if (input.needsBytes && envelope === undefined) {
    message = input.headerOnly ? await readHeader(account, mailbox.id, ref.uid, meta.size) : await account.readMessage(mailbox.id, ref.uid);
    if (message === null) return 'gone';
    root = parseMimeTree(message, input.mime);
  }
  const flagsChanged = input.flagsChanged;
  // RFC 9051 §7.3.5: a keyword set by another session since the last report is announced before it shows.
  const announced = input.items.some((i) => i.kind === 'simple' && i.name === 'FLAGS') || flagsChanged ? mailbox.announceKeywords(meta.flags) : [];
  const parts: (string | Buffer)[] = announced.map((l) => `* ${l}\r\n`);
  const head = parts.length;
  const add = (label: string, value: string | Buffer | null): void => {
    parts.push(parts.length === head ? `${label} ` : ` ${label} `);
    if (typeof value === 'string') parts.push(value);
    else literalParts(value, parts);
  };
  const hasItem = (n: SimpleItem): boolean => items.some((i) => i.kind === 'simple' && i.name === n);
  if (input.isUid && !input.uidOnly && !hasItem('UID')) add('UID', String(ref.uid));
  for (const item of items) {
    if (item.kind === 'simple') {
      switch (item.name) {
        case 'FLAGS': add('FLAGS', mailbox.formatFlags(ref.uid, meta.flags, input.rev1)); break;
        case 'UID': add('UID', String(ref.uid)); break;
        case 'INTERNALDATE': add('INTERNALDATE', formatDateTime(meta.internalDate)); break;
        case 'RFC822.SIZE': add('RFC822.SIZE', String(meta.size)); break;
        case 'MODSEQ': add('MODSEQ', `(${meta.modSeq})`); break;
        // RFC 8474 §5.1, §5.2: the ids JMAP gives the same email and thread (core/object-ids.ts).
        case 'EMAILID': add('EMAILID', meta.emailId === undefined ? 'NIL' : `(${formatObjectId('email', meta.emailId)})`); break;
        case 'THREADID': add('THREADID', meta.threadId === undefined ? 'NIL' : `(${formatObjectId('thread', meta.threadId)})`); break;
        // RFC 8514 §4.2: the date-time the message was saved in this mailbox.
        case 'SAVEDATE': add('SAVEDATE', meta.saveDate === undefined ? 'NIL' : formatDateTime(meta.saveDate)); break;
        case 'ENVELOPE':
          if (envelope === undefined) {
            envelope = formatEnvelope(root!, message!);
            if (input.envelopeOnly) account.envelopes!.set(envelopeKey, envelope);
          }
          add('ENVELOPE', envelope);
          break;
        case 'BODYSTRUCTURE': add('BODYSTRUCTURE', formatBodyStructure(root!, message!, { extensible: true })); break;
        case 'BODY': add('BODY', formatBodyStructure(root!, message!, { extensible: false })); break;
        case 'PREVIEW': add('PREVIEW', formatNString(messagePreview(message!, root!), { utf8: input.utf8 })); break;
      }
    } else if (item.kind === 'body') {
      const bytes = extractSection(message!, root!, item.section);
      const label = item.label === 'BODY' ? `BODY[${formatSection(item.section)}]${item.partial ? `<${item.partial.offset}>` : ''}` : item.label;
      add(label, bytes === null ? Buffer.alloc(0) : applyPartial(bytes, item.partial));
    } else {
      let bytes: Buffer | null;
      try {
        bytes = extractBinary(message!, root!, item.path);
      } catch (err) {
        if (err instanceof UnknownTransferEncodingError) return no('Cannot decode part', 'UNKNOWN-CTE');
        throw err;
      }
      if (bytes === null) return no('No such part', 'NONEXISTENT');
      if (item.size) add(`BINARY.SIZE[${item.path.join('.')}]`, String(bytes.length));
      else {
        // RFC 3516 §4.3: binary content containing NUL must be sent as literal8 (~{n}).
        const out = applyPartial(bytes, item.partial);
        const label = `BINARY[${item.path.join('.')}]${item.partial ? `<${item.partial.offset}>` : ''}`;
        parts.push(parts.length === head ? `${label} ` : ` ${label} `, `${out.includes(0) ? '~' : ''}{${out.length}}\r\n`, out);
      }
    }
  }
  if (flagsChanged && !hasItem('FLAGS')) add('FLAGS', mailbox.formatFlags(ref.uid, meta.flags, input.rev1));
  if ((input.wantsModSeq || (flagsChanged && input.condstore)) && !hasItem('MODSEQ')) add('MODSEQ', `(${meta.modSeq})`);
  return [...parts.slice(0, head), `* ${fetchHead(ref.seq, ref.uid, input.uidOnly)} (`, ...parts.slice(head), ')\r\n'];
}
