/**
 * The IMAP engine's backend on the mail store: per-account mailbox operations, message metadata
 * and bytes, flags, expunge, copy/move, streaming APPEND through a delivery transaction (with the
 * quota checked at commit) and change notifications filtered to the account.
 */
import {
  ImapBackendError,
  type ImapAccount,
  type ImapAppendSink,
  type ImapAppendTarget,
  type ImapBackend,
  type ImapChange,
  type ImapMailboxInfo,
  type ImapMailboxSnapshot,
  type ImapMailboxStatus,
  type ImapMessageMeta,
  type ImapMetaColumns,
  type ImapMetaField,
  type ImapSpecialUse,
} from '../protocols/imap/backend.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import { isMailboxChange, type AccountStore, type ChangeFeed, type DeliveryTransaction, type MailboxRecord, type MailStore, type MessageRecord } from '../store/types.ts';
import { parseFlagText } from '../core/flag-text.ts';
import type { Logger } from '../core/log.ts';
import { EnvelopeCache } from '../mail/envelope-cache.ts';
import { MailboxSnapshots } from './mailbox-snapshots.ts';
import { RecentClaims } from '../protocols/imap/recent-claims.ts';

export interface MailStoreImapBackendOptions {
  store: MailStore & ChangeFeed;
  accounts: Pick<AccountStore, 'getAccountById'>;
  /** Quota for accounts whose quotaBytes is null; null means unlimited. */
  defaultQuotaBytes: number | null;
  log?: Logger;
}

export class MailStoreImapBackend implements ImapBackend {
  /** SELECT state kept between sessions. */
  private readonly snapshots: MailboxSnapshots;
  /** Formatted ENVELOPEs shared by all sessions (16 MiB). */
  private readonly envelopes = new EnvelopeCache();
  /** Which session saw a message first (\Recent for IMAP4rev1 sessions). */
  private readonly recent = new RecentClaims();

  constructor(private readonly options: MailStoreImapBackendOptions) {
    this.snapshots = new MailboxSnapshots({ store: options.store });
    // Every message stored (delivery, APPEND, COPY, MOVE) is unclaimed until a session sees it.
    options.store.subscribe((change) => {
      if (change.kind === 'append' && change.uids !== undefined) this.recent.noteArrivals(change.mailboxId, change.uids);
    });
  }

  /** Drops what is kept of deleted mailboxes, whichever process deleted them (until close()). */
  private unsubscribe: (() => void) | null = null;

  start(): void {
    this.unsubscribe ??= this.options.store.subscribe((change) => {
      if (isMailboxChange(change) && change.kind === 'mailbox' && change.mailboxId !== 0) this.snapshots.forget(change.mailboxId);
    });
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async openAccount(identity: AuthIdentity): Promise<ImapAccount> {
    return new StoreImapAccount(this.options, identity.accountId, this.snapshots, this.envelopes, this.recent);
  }
}

function toMeta(r: MessageRecord): ImapMessageMeta {
  return { uid: r.uid, size: r.size, internalDate: r.internalDate, flags: r.flags, modSeq: r.modSeq };
}

class StoreImapAccount implements ImapAccount {
  private readonly store: MailStore & ChangeFeed;
  /** Mailboxes already checked to belong to this account. */
  private readonly readable = new Set<number>();
  /** The store transaction behind each APPEND sink handed out (MULTIAPPEND commits several at once). */
  private readonly appendTxs = new WeakMap<ImapAppendSink, DeliveryTransaction>();

  constructor(
    private readonly options: MailStoreImapBackendOptions,
    private readonly accountId: number,
    private readonly snapshots: MailboxSnapshots,
    readonly envelopes: EnvelopeCache,
    readonly recent: RecentClaims,
  ) {
    this.store = options.store;
  }

  private async mailbox(name: string) {
    const mb = await this.store.getMailbox(this.accountId, name);
    if (mb === null) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    return mb;
  }

  /** Every message id the engine passes comes from a SELECT of this account; checked anyway. */
  private async owned(mailboxId: number) {
    const mb = await this.store.getMailboxById(mailboxId);
    if (mb === null || mb.accountId !== this.accountId) throw new ImapBackendError('NONEXISTENT', 'Mailbox no longer exists');
    return mb;
  }

  async listMailboxes(): Promise<ImapMailboxInfo[]> {
    return (await this.store.listMailboxes(this.accountId)).map((m) => ({ name: m.name, specialUse: m.specialUse, subscribed: m.subscribed }));
  }

  async createMailbox(name: string, options: { specialUse?: ImapSpecialUse | null } = {}): Promise<void> {
    if ((await this.store.getMailbox(this.accountId, name)) !== null) throw new ImapBackendError('ALREADYEXISTS', 'Mailbox already exists');
    await this.store.createMailbox(this.accountId, name, options.specialUse ?? null);
  }

  async deleteMailbox(name: string): Promise<void> {
    const mb = await this.mailbox(name);
    await this.store.deleteMailbox(mb.id);
    this.snapshots.forget(mb.id);
    this.recent.forget(mb.id);
  }

  async renameMailbox(oldName: string, newName: string): Promise<void> {
    const from = await this.mailbox(oldName);
    if ((await this.store.getMailbox(this.accountId, newName)) !== null) throw new ImapBackendError('ALREADYEXISTS', 'Mailbox already exists');
    if (oldName === 'INBOX') {
      // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new mailbox; INBOX stays, empty.
      const to = await this.store.createMailbox(this.accountId, newName, null);
      const uids = (await this.store.listMessages(from.id)).map((m) => m.uid);
      if (uids.length > 0) await this.store.copyMessages(from.id, uids, to.id, { move: true });
      return;
    }
    await this.store.renameMailbox(this.accountId, oldName, newName);
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    // RFC 9051 §6.3.8: a name can be unsubscribed after its mailbox is gone.
    if (subscribed) await this.mailbox(name);
    await this.store.setSubscribed(this.accountId, name, subscribed);
  }

  async listSubscriptions(): Promise<string[]> {
    return this.store.listSubscriptions(this.accountId);
  }

  async status(name: string, options: { counts?: boolean } = {}): Promise<ImapMailboxStatus | null> {
    const mb = await this.store.getMailbox(this.accountId, name);
    if (mb === null) return null;
    if (options.counts === false) {
      // MESSAGES, UNSEEN, UIDNEXT, HIGHESTMODSEQ: what SELECT keeps (clients poll STATUS of every mailbox).
      const sum = await this.snapshots.summary(mb);
      if (sum === null) return null;
      const { uidNext, uidValidity, highestModSeq, messages, unseen } = sum;
      return { id: mb.id, messages, unseen, deleted: null, sizeBytes: null, uidNext, uidValidity, highestModSeq };
    }
    const c = await this.store.counts(mb.id);
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
    const mb = await this.store.getMailbox(this.accountId, name);
    if (mb === null) return null;
    // UID runs, unseen and keywords kept between SELECTs, checked against the mailbox row (mailbox-snapshots.ts).
    const snap = await this.snapshots.snapshot(mb);
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
    await this.owned(mailboxId);
    let lo = Infinity;
    let hi = 0;
    let ascending = true;
    for (let i = 0; i < uids.length; i++) {
      const u = uids[i]!;
      if (u < lo) lo = u;
      if (u > hi) hi = u;
      if (i > 0 && u <= uids[i - 1]!) ascending = false;
    }
    const rows = await this.store.listMessageMeta(mailboxId, { uidFrom: lo, uidTo: hi });
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

  async metaColumns(mailboxId: number, range: { uidFrom: number; uidTo: number }, fields: readonly ImapMetaField[]): Promise<ImapMetaColumns> {
    await this.ownedForReading(mailboxId);
    return this.store.listMetaColumns(mailboxId, { ...range, fields });
  }

  /**
   * owned() for reads, which FETCH makes per batch or per message: checked once per mailbox (a mailbox
   * never changes account; reading one deleted since finds no messages).
   */
  private async ownedForReading(mailboxId: number): Promise<void> {
    if (this.readable.has(mailboxId)) return;
    await this.owned(mailboxId);
    this.readable.add(mailboxId);
  }

  async changedSince(mailboxId: number, options: { modSeq?: number; uidFrom?: number }): Promise<ImapMessageMeta[]> {
    await this.owned(mailboxId);
    const out = new Map<number, ImapMessageMeta>();
    if (options.modSeq !== undefined) for (const r of await this.store.listMessages(mailboxId, { changedSinceModSeq: options.modSeq })) out.set(r.uid, toMeta(r));
    if (options.uidFrom !== undefined) for (const r of await this.store.listMessages(mailboxId, { uidFrom: options.uidFrom })) out.set(r.uid, toMeta(r));
    return [...out.values()].sort((a, b) => a.uid - b.uid);
  }

  async readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer | null> {
    await this.ownedForReading(mailboxId);
    try {
      return await this.store.readMessage(mailboxId, uid, range);
    } catch (err) {
      // Expunged meanwhile (a rare race): the store refuses to read a message that is gone.
      if ((await this.store.getMessage(mailboxId, uid)) === null) return null;
      throw err;
    }
  }

  async storeFlags(mailboxId: number, uids: readonly number[], op: 'add' | 'remove' | 'set', flags: string[], options: { unchangedSince?: number } = {}) {
    await this.owned(mailboxId);
    const r = await this.store.storeFlags(mailboxId, [...uids], op, flags, options);
    return { changed: r.changed.map(toMeta), failedUnchangedSince: r.failedUnchangedSince };
  }

  async expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    await this.owned(mailboxId);
    return this.store.expunge(mailboxId, [...uids]);
  }

  async vanishedSince(mailboxId: number, modSeq: number): Promise<number[]> {
    await this.owned(mailboxId);
    return this.store.vanishedSince(mailboxId, modSeq);
  }

  async copy(mailboxId: number, uids: readonly number[], destination: string, options: { move: boolean }) {
    await this.owned(mailboxId);
    const dest = await this.mailbox(destination);
    if (!options.move && dest.id !== mailboxId) {
      // RFC 9208 §4.2: a COPY that would exceed the quota fails with [OVERQUOTA].
      const added = (await this.messages(mailboxId, uids)).reduce((a, m) => a + m.size, 0);
      await this.checkQuota(added);
    }
    return this.store.copyMessages(mailboxId, [...uids], dest.id, { move: options.move });
  }

  beginAppend(): ImapAppendSink {
    const tx = this.store.beginDelivery();
    const sink: ImapAppendSink = {
      write: (chunk) => tx.write(chunk),
      get size() {
        return tx.size;
      },
      commit: async (target) => (await this.commitAppends([{ sink, target }]))[0]!,
      abort: () => tx.abort(),
    };
    this.appendTxs.set(sink, tx);
    return sink;
  }

  async commitAppends(messages: { sink: ImapAppendSink; target: ImapAppendTarget }[]): Promise<{ uid: number; uidValidity: number }[]> {
    const txs = messages.map((m) => this.appendTxs.get(m.sink));
    try {
      if (txs.some((tx) => tx === undefined)) throw new Error('commitAppends takes sinks of this account');
      const boxes = new Map<string, MailboxRecord>();
      for (const m of messages) if (!boxes.has(m.target.mailbox)) boxes.set(m.target.mailbox, await this.mailbox(m.target.mailbox));
      // RFC 9208 §4.2: the messages together must fit the quota (RFC 3502 §6: all or none).
      await this.checkQuota(messages.reduce((sum, m) => sum + m.sink.size, 0));
      const batch = messages.map((m, i) => {
        const mb = boxes.get(m.target.mailbox)!;
        const internalDate = m.target.internalDate !== null ? { internalDate: m.target.internalDate } : {};
        return { tx: txs[i]!, plan: { mailboxes: [{ mailboxId: mb.id, flags: m.target.flags, ...internalDate }] } };
      });
      const results = batch.length === 1 ? [await batch[0]!.tx.commit(batch[0]!.plan)] : await this.store.commitDeliveries(batch);
      return results.map((r, i) => {
        const uid = r.messages[0]?.uid;
        if (uid === undefined) throw new ImapBackendError('CANNOT', 'Message was not stored');
        return { uid, uidValidity: boxes.get(messages[i]!.target.mailbox)!.uidValidity };
      });
    } finally {
      for (const m of messages) {
        this.appendTxs.delete(m.sink);
        m.sink.abort();
      }
    }
  }

  private async checkQuota(addBytes: number): Promise<void> {
    const q = await this.quota();
    if (q.limitBytes !== null && q.usedBytes + addBytes > q.limitBytes) throw new ImapBackendError('OVERQUOTA', 'Quota exceeded');
  }

  async quota(): Promise<{ usedBytes: number; limitBytes: number | null }> {
    const [usage, account] = await Promise.all([this.store.accountUsage(this.accountId), this.options.accounts.getAccountById(this.accountId)]);
    return { usedBytes: usage.bytes, limitBytes: account?.quotaBytes ?? this.options.defaultQuotaBytes };
  }

  watch(listener: (change: ImapChange) => void): () => void {
    // Changes from other processes (the CLI, another server) arrive here too, through the store's feed.
    return this.store.subscribe((change) => {
      let forSession: ImapChange;
      if (change.kind === 'reset') forSession = { mailboxId: 0, kind: 'reset' };
      else if (isMailboxChange(change) && change.accountId === this.accountId) forSession = { mailboxId: change.mailboxId, kind: change.kind, ...(change.uids !== undefined ? { uids: change.uids } : {}) };
      else return;
      try {
        listener(forSession);
      } catch (err) {
        this.options.log?.warn({ err, event: 'imap.watch_failed' });
      }
    });
  }
}
