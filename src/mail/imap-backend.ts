/**
 * The IMAP engine's backend on account-scoped mail access (access.ts): maps mailbox names to the
 * account's mailboxes and MailAccessError to IMAP response codes, and keeps what only IMAP needs
 * (formatted ENVELOPEs, \Recent claims). Ownership and quota are checked by the mail service.
 */
import {
  ImapBackendError,
  type ImapAccount,
  type ImapAppendSink,
  type ImapAppendTarget,
  type ImapBackend,
  type ImapChange,
  type ImapEnvelopeCache,
  type ImapSectionCache,
  type ImapMailboxInfo,
  type ImapMailboxSnapshot,
  type ImapMailboxStatus,
  type ImapMessageMeta,
  type ImapMetaColumns,
  type ImapMetaField,
  type ImapSpecialUse,
  type ImapWriteOptions,
} from '../protocols/imap/backend.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { ChangeFeed, MailboxRecord, MessageRecord } from '../store/types.ts';
import { parseFlagText } from '../core/flag-text.ts';
import { RecentClaims } from '../protocols/imap/recent-claims.ts';
import { MailAccessError, type AccountMail, type AppendTransaction, type MailAccess } from './access.ts';

export interface MailImapBackendOptions {
  mail: MailAccess;
  /** Every message stored (delivery, APPEND, COPY, MOVE) is unclaimed for \Recent until a session sees it. */
  changes: ChangeFeed;
  /** Formatted ENVELOPEs shared by all sessions; without it every ENVELOPE is parsed from the header. */
  envelopes?: ImapEnvelopeCache;
  /** Header sections (BODY.PEEK[HEADER.FIELDS (...)]) shared by all sessions; without it they are read each time. */
  headerSections?: ImapSectionCache;
}

export class MailImapBackend implements ImapBackend {
  /** Which session saw a message first (\Recent for IMAP4rev1 sessions). */
  private readonly recent = new RecentClaims();

  constructor(private readonly options: MailImapBackendOptions) {
    options.changes.subscribe((change) => {
      if (change.kind === 'append' && change.uids !== undefined) this.recent.noteArrivals(change.mailboxId, change.uids);
    });
  }

  async openAccount(identity: AuthIdentity): Promise<ImapAccount> {
    return new MailImapAccount(await this.options.mail.open(identity), this.recent, this.options.envelopes, this.options.headerSections);
  }
}

function toMeta(r: MessageRecord): ImapMessageMeta {
  return { uid: r.uid, size: r.size, internalDate: r.internalDate, flags: r.flags, modSeq: r.modSeq };
}

/** Runs a mail service call, answering its refusals with the same IMAP response code. */
async function imapErrors<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof MailAccessError) throw new ImapBackendError(err.code, err.message);
    throw err;
  }
}

class MailImapAccount implements ImapAccount {
  /** The service's append behind each APPEND sink handed out (MULTIAPPEND commits several at once). */
  private readonly appends = new WeakMap<ImapAppendSink, AppendTransaction>();

  constructor(
    private readonly mail: AccountMail,
    readonly recent: RecentClaims,
    readonly envelopes: ImapEnvelopeCache | undefined,
    readonly headerSections: ImapSectionCache | undefined,
  ) {}

  private async mailbox(name: string): Promise<MailboxRecord> {
    const mb = await this.mail.findMailbox(name);
    if (mb === null) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    return mb;
  }

  async listMailboxes(): Promise<ImapMailboxInfo[]> {
    return (await this.mail.listMailboxes()).map((m) => ({ id: m.id, name: m.name, specialUse: m.specialUse, subscribed: m.subscribed }));
  }

  async createMailbox(name: string, options: { specialUse?: ImapSpecialUse | null } = {}): Promise<number> {
    return (await imapErrors(this.mail.createMailbox(name, { specialUse: options.specialUse ?? null }))).id;
  }

  async deleteMailbox(name: string): Promise<void> {
    const mb = await this.mailbox(name);
    await imapErrors(this.mail.deleteMailbox(mb.id));
    this.recent.forget(mb.id);
  }

  async renameMailbox(oldName: string, newName: string): Promise<void> {
    const from = await this.mailbox(oldName);
    if (oldName === 'INBOX') {
      // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new mailbox; INBOX stays, empty.
      const to = await imapErrors(this.mail.createMailbox(newName));
      const uids = (await this.mail.listMessages(from.id)).map((m) => m.uid);
      if (uids.length > 0) await imapErrors(this.mail.copyMessages(from.id, uids, to.id, { move: true }));
      return;
    }
    await imapErrors(this.mail.renameMailbox(from.id, newName));
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    await imapErrors(this.mail.setSubscribed(name, subscribed));
  }

  async listSubscriptions(): Promise<string[]> {
    return this.mail.listSubscriptions();
  }

  async status(name: string, options: { counts?: boolean } = {}): Promise<ImapMailboxStatus | null> {
    const mb = await this.mail.findMailbox(name);
    if (mb === null) return null;
    if (options.counts === false) {
      // MESSAGES, UNSEEN, UIDNEXT, HIGHESTMODSEQ: what SELECT keeps (clients poll STATUS of every mailbox).
      const sum = await this.mail.summary(mb);
      if (sum === null) return null;
      const { uidNext, uidValidity, highestModSeq, messages, unseen } = sum;
      return { id: mb.id, messages, unseen, deleted: null, sizeBytes: null, uidNext, uidValidity, highestModSeq };
    }
    const c = await this.mail.counts(mb.id);
    return {
      id: mb.id,
      messages: c.messages,
      unseen: c.unseen,
      deleted: c.deleted,
      sizeBytes: c.sizeBytes,
      uidNext: mb.uidNext,
      uidValidity: mb.uidValidity,
      highestModSeq: mb.highestModSeq,
    };
  }

  async select(name: string): Promise<ImapMailboxSnapshot | null> {
    const mb = await this.mail.findMailbox(name);
    if (mb === null) return null;
    const snap = await this.mail.snapshot(mb);
    if (snap === null) return null;
    return {
      id: mb.id,
      name: mb.name,
      uidValidity: snap.uidValidity,
      uidNext: snap.uidNext,
      highestModSeq: snap.highestModSeq,
      uids: snap.uids,
      keywords: snap.keywords,
      unseen: snap.unseen,
      firstUnseenSeq: snap.firstUnseenUid === 0 ? 0 : snap.uids.indexOf(snap.firstUnseenUid) + 1,
    };
  }

  async messages(mailboxId: number, uids: readonly number[]): Promise<ImapMessageMeta[]> {
    if (uids.length === 0) return [];
    let lo = Infinity;
    let hi = 0;
    let ascending = true;
    for (let i = 0; i < uids.length; i++) {
      const u = uids[i]!;
      if (u < lo) lo = u;
      if (u > hi) hi = u;
      if (i > 0 && u <= uids[i - 1]!) ascending = false;
    }
    const rows = await imapErrors(this.mail.listMessageMeta(mailboxId, { uidFrom: lo, uidTo: hi }));
    // Every row is wanted when the UIDs asked for are exactly the rows (FETCH 1:* in batches).
    let same = ascending && rows.length === uids.length;
    for (let i = 0; same && i < rows.length; i++) same = rows[i]!.uid === uids[i];
    const wanted = same ? null : new Set(uids);
    const out: ImapMessageMeta[] = [];
    for (const r of rows) {
      if (wanted !== null && !wanted.has(r.uid)) continue;
      out.push({ uid: r.uid, size: r.size, internalDate: new Date(r.internalDate), flags: parseFlagText(r.flags), modSeq: r.modSeq });
    }
    return out;
  }

  async objectIds(mailboxId: number, uids: readonly number[]): Promise<Map<number, { emailId: number; threadId: number }>> {
    return imapErrors(this.mail.objectIds(mailboxId, uids));
  }

  async metaColumns(mailboxId: number, range: { uidFrom: number; uidTo: number }, fields: readonly ImapMetaField[]): Promise<ImapMetaColumns> {
    return imapErrors(this.mail.listMetaColumns(mailboxId, { ...range, fields }));
  }

  async changedSince(mailboxId: number, options: { modSeq?: number; uidFrom?: number }): Promise<ImapMessageMeta[]> {
    const out = new Map<number, ImapMessageMeta>();
    if (options.modSeq !== undefined) for (const r of await imapErrors(this.mail.listMessages(mailboxId, { changedSinceModSeq: options.modSeq }))) out.set(r.uid, toMeta(r));
    if (options.uidFrom !== undefined) for (const r of await imapErrors(this.mail.listMessages(mailboxId, { uidFrom: options.uidFrom }))) out.set(r.uid, toMeta(r));
    return [...out.values()].sort((a, b) => a.uid - b.uid);
  }

  async readMessageHeads(mailboxId: number, range: { uidFrom: number; uidTo: number }, maxBytes: number): Promise<{ uids: number[]; heads: Buffer[] }> {
    return imapErrors(this.mail.readMessageHeads(mailboxId, range, maxBytes));
  }

  async readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer | null> {
    return imapErrors(this.mail.readMessage(mailboxId, uid, range));
  }

  async storeFlags(mailboxId: number, uids: readonly number[], op: 'add' | 'remove' | 'set', flags: string[], options: ImapWriteOptions & { unchangedSince?: number } = {}) {
    const r = await imapErrors(this.mail.storeFlags(mailboxId, uids, op, flags, options));
    return { changed: r.changed.map(toMeta), failedUnchangedSince: r.failedUnchangedSince };
  }

  async expunge(mailboxId: number, uids: readonly number[], options: ImapWriteOptions = {}): Promise<number[]> {
    return imapErrors(this.mail.expunge(mailboxId, uids, options));
  }

  async vanishedSince(mailboxId: number, modSeq: number): Promise<number[]> {
    return imapErrors(this.mail.vanishedSince(mailboxId, modSeq));
  }

  async copy(mailboxId: number, uids: readonly number[], destination: string, options: ImapWriteOptions & { move: boolean }) {
    await imapErrors(this.mail.mailbox(mailboxId));
    const dest = await this.mailbox(destination);
    return imapErrors(this.mail.copyMessages(mailboxId, uids, dest.id, options));
  }

  beginAppend(): ImapAppendSink {
    const append = this.mail.beginAppend();
    const sink: ImapAppendSink = {
      write: (chunk) => append.write(chunk),
      get size() {
        return append.size;
      },
      commit: async (target) => (await this.commitAppends([{ sink, target }]))[0]!,
      abort: () => append.abort(),
    };
    this.appends.set(sink, append);
    return sink;
  }

  async commitAppends(messages: { sink: ImapAppendSink; target: ImapAppendTarget }[], options: ImapWriteOptions = {}): Promise<{ uid: number; uidValidity: number }[]> {
    try {
      const batch = [];
      const ids = new Map<string, number>();
      for (const m of messages) {
        const tx = this.appends.get(m.sink);
        if (tx === undefined) throw new Error('commitAppends takes sinks of this account');
        let mailboxId = ids.get(m.target.mailbox);
        if (mailboxId === undefined) ids.set(m.target.mailbox, (mailboxId = (await this.mailbox(m.target.mailbox)).id));
        batch.push({ tx, target: { mailboxId, flags: m.target.flags, internalDate: m.target.internalDate } });
      }
      return (await imapErrors(this.mail.commitAppends(batch, options))).map((r) => ({ uid: r.uid, uidValidity: r.uidValidity }));
    } finally {
      for (const m of messages) {
        this.appends.delete(m.sink);
        m.sink.abort();
      }
    }
  }

  async getMetadata(mailbox: string | null): Promise<{ entry: string; value: Buffer }[] | null> {
    if (mailbox === null) return this.mail.listMetadata(null);
    const mb = await this.mail.findMailbox(mailbox);
    return mb === null ? null : imapErrors(this.mail.listMetadata(mb.id));
  }

  async setMetadata(mailbox: string | null, changes: readonly { entry: string; value: Buffer | null }[], options: { maxEntries: number }): Promise<boolean> {
    const id = mailbox === null ? null : (await this.mailbox(mailbox)).id;
    return imapErrors(this.mail.setMetadata(id, changes, options));
  }

  async quota(): Promise<{ usedBytes: number; limitBytes: number | null }> {
    const q = await this.mail.quota();
    return { usedBytes: q.usedBytes, limitBytes: q.limitBytes };
  }

  watch(listener: (change: ImapChange) => void): () => void {
    return this.mail.watch((change) => {
      if (change.kind === 'reset') listener({ mailboxId: 0, kind: 'reset' });
      else if (change.kind === 'metadata') listener({ mailboxId: change.mailbox ?? 0, kind: 'metadata', entries: change.entries });
      else listener({ mailboxId: change.mailboxId, kind: change.kind, ...(change.uids !== undefined ? { uids: change.uids } : {}) });
    });
  }
}
