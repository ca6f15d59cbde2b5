/**
 * An in-memory ImapBackend and SaslAuthenticator for the engine's transcript tests (not used by
 * the server): one account per address, mailboxes with UIDs, flags, modseqs and change events.
 */
import type { EngineContext, EngineOutput, OutputPart } from '../../engine.ts';
import type { AuthIdentity, SaslAuthenticator, SaslStep } from '../../sasl/types.ts';
import {
  ImapBackendError,
  type ImapAccount,
  type ImapAppendSink,
  type ImapAppendTarget,
  type ImapBackend,
  type ImapChange,
  type ImapEnvelopeCache,
  type ImapMailboxInfo,
  type ImapMessageMeta,
  type ImapMetaColumns,
  type ImapMetaField,
  type ImapSpecialUse,
} from '../backend.ts';
import { ImapSession } from '../session.ts';
import type { ImapSessionOptions } from '../session-state.ts';

interface MemMessage {
  uid: number;
  bytes: Buffer;
  flags: string[];
  internalDate: Date;
  modSeq: number;
  /** RFC 8474: kept by MOVE, new on COPY; every message is its own thread here. */
  emailId: number;
  /** RFC 8514: when the message was stored in its mailbox. */
  savedAt: Date;
}

interface MemMailbox {
  id: number;
  name: string;
  uidValidity: number;
  uidNext: number;
  modSeq: number;
  specialUse: ImapSpecialUse | null;
  messages: MemMessage[];
  vanished: { uid: number; modSeq: number }[];
}

export class MemoryAccount implements ImapAccount {
  mailboxes: MemMailbox[] = [];
  envelopes?: ImapEnvelopeCache;
  quotaLimit: number | null = 1024 * 1024;
  /** Subscribed names: RFC 9051 §6.3.8, a subscription outlives its mailbox. */
  readonly subscriptions = new Set<string>();
  private nextId = 1;
  private nextEmailId = 1;
  private listeners = new Set<(c: ImapChange) => void>();

  constructor() {
    this.addMailbox('INBOX', null);
    this.addMailbox('Sent', '\\Sent');
    this.addMailbox('Trash', '\\Trash');
  }

  addMailbox(name: string, specialUse: ImapSpecialUse | null): MemMailbox {
    const mb: MemMailbox = { id: this.nextId++, name, uidValidity: 1000 + this.nextId, uidNext: 1, modSeq: 1, specialUse, messages: [], vanished: [] };
    this.mailboxes.push(mb);
    this.subscriptions.add(name);
    return mb;
  }

  byName(name: string): MemMailbox | undefined {
    return this.mailboxes.find((m) => m.name === name);
  }

  private byId(id: number): MemMailbox {
    const mb = this.mailboxes.find((m) => m.id === id);
    if (mb === undefined) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    return mb;
  }

  private emit(change: ImapChange): void {
    for (const l of this.listeners) l(change);
  }

  /** A delivery from outside (SMTP): appends and notifies. */
  deliver(name: string, bytes: Buffer | string, options: { flags?: string[]; internalDate?: Date; savedAt?: Date } = {}): number {
    const mb = this.byName(name)!;
    const uid = mb.uidNext++;
    mb.modSeq++;
    mb.messages.push({ uid, bytes: Buffer.from(bytes), flags: options.flags ?? [], internalDate: options.internalDate ?? new Date('2024-01-02T03:04:05Z'), modSeq: mb.modSeq, emailId: this.nextEmailId++, savedAt: options.savedAt ?? new Date() });
    this.emit({ mailboxId: mb.id, kind: 'append', uids: [uid] });
    return uid;
  }

  async listMailboxes(): Promise<ImapMailboxInfo[]> {
    return this.mailboxes.map((m) => ({ id: m.id, name: m.name, specialUse: m.specialUse, subscribed: this.subscriptions.has(m.name) }));
  }
  async createMailbox(name: string): Promise<number> {
    if (this.byName(name)) throw new ImapBackendError('ALREADYEXISTS', 'Mailbox exists');
    const mb = this.addMailbox(name, null);
    // RFC 9051 §6.3.4: CREATE does not subscribe.
    this.subscriptions.delete(name);
    return mb.id;
  }
  async deleteMailbox(name: string): Promise<void> {
    const mb = this.byName(name);
    if (!mb) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    this.mailboxes = this.mailboxes.filter((m) => m !== mb);
  }
  async renameMailbox(oldName: string, newName: string): Promise<void> {
    const mb = this.byName(oldName);
    if (!mb) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    if (this.byName(newName)) throw new ImapBackendError('ALREADYEXISTS', 'Mailbox exists');
    for (const m of this.mailboxes) {
      if (m.name === oldName) m.name = newName;
      else if (m.name.startsWith(oldName + '/')) m.name = newName + m.name.slice(oldName.length);
    }
  }
  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    if (!subscribed) {
      this.subscriptions.delete(name);
      return;
    }
    if (!this.byName(name)) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    this.subscriptions.add(name);
  }
  async listSubscriptions(): Promise<string[]> {
    return [...this.subscriptions].sort();
  }
  async status(name: string) {
    const mb = this.byName(name);
    if (!mb) return null;
    return {
      id: mb.id,
      messages: mb.messages.length,
      unseen: mb.messages.filter((m) => !m.flags.includes('\\Seen')).length,
      deleted: mb.messages.filter((m) => m.flags.includes('\\Deleted')).length,
      sizeBytes: mb.messages.reduce((a, m) => a + m.bytes.length, 0),
      uidNext: mb.uidNext,
      uidValidity: mb.uidValidity,
      highestModSeq: mb.modSeq,
    };
  }
  async select(name: string) {
    const mb = this.byName(name);
    if (!mb) return null;
    const firstUnseen = mb.messages.findIndex((m) => !m.flags.includes('\\Seen'));
    return {
      id: mb.id,
      name: mb.name,
      uidValidity: mb.uidValidity,
      uidNext: mb.uidNext,
      highestModSeq: mb.modSeq,
      uids: mb.messages.map((m) => m.uid),
      keywords: [...new Set(mb.messages.flatMap((m) => m.flags.filter((f) => !f.startsWith('\\'))))],
      unseen: mb.messages.filter((m) => !m.flags.includes('\\Seen')).length,
      firstUnseenSeq: firstUnseen + 1,
    };
  }
  private meta(m: MemMessage): ImapMessageMeta {
    return { uid: m.uid, size: m.bytes.length, internalDate: m.internalDate, flags: [...m.flags], modSeq: m.modSeq };
  }
  async metaColumns(mailboxId: number, range: { uidFrom: number; uidTo: number }, fields: readonly ImapMetaField[]): Promise<ImapMetaColumns> {
    const found = this.byId(mailboxId).messages.filter((m) => m.uid >= range.uidFrom && m.uid <= range.uidTo);
    const out: ImapMetaColumns = { count: found.length, uids: found.length === range.uidTo - range.uidFrom + 1 ? null : Uint32Array.from(found.map((m) => m.uid)) };
    for (const f of fields) {
      if (f === 'flags') out.flags = found.map((m) => m.flags.join(' '));
      else if (f === 'size') out.size = found.map((m) => m.bytes.length);
      else if (f === 'internalDate') out.internalDate = found.map((m) => m.internalDate.getTime());
      else if (f === 'emailId' || f === 'threadId') out[f] = found.map((m) => m.emailId);
      else if (f === 'saveDate') out.saveDate = found.map((m) => m.savedAt.getTime());
      else out.modSeq = found.map((m) => m.modSeq);
    }
    return out;
  }
  async objectIds(mailboxId: number, uids: readonly number[]): Promise<Map<number, { emailId: number; threadId: number }>> {
    const set = new Set(uids);
    return new Map(this.byId(mailboxId).messages.filter((m) => set.has(m.uid)).map((m) => [m.uid, { emailId: m.emailId, threadId: m.emailId }]));
  }
  async messages(mailboxId: number, uids: readonly number[]): Promise<ImapMessageMeta[]> {
    const set = new Set(uids);
    return this.byId(mailboxId).messages.filter((m) => set.has(m.uid)).map((m) => this.meta(m));
  }
  async changedSince(mailboxId: number, options: { modSeq?: number; uidFrom?: number }): Promise<ImapMessageMeta[]> {
    return this.byId(mailboxId)
      .messages.filter((m) => (options.modSeq !== undefined && m.modSeq > options.modSeq) || (options.uidFrom !== undefined && m.uid >= options.uidFrom))
      .map((m) => this.meta(m));
  }
  async readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer | null> {
    const bytes = this.byId(mailboxId).messages.find((m) => m.uid === uid)?.bytes ?? null;
    return bytes === null || range === undefined ? bytes : bytes.subarray(range.start, range.end);
  }
  async storeFlags(mailboxId: number, uids: readonly number[], op: 'add' | 'remove' | 'set', flags: string[], options: { unchangedSince?: number } = {}) {
    const mb = this.byId(mailboxId);
    const changed: ImapMessageMeta[] = [];
    const failedUnchangedSince: number[] = [];
    for (const m of mb.messages) {
      if (!uids.includes(m.uid)) continue;
      if (options.unchangedSince !== undefined && m.modSeq > options.unchangedSince) {
        failedUnchangedSince.push(m.uid);
        continue;
      }
      const before = m.flags.join(' ');
      if (op === 'set') m.flags = [...flags];
      else if (op === 'add') m.flags = [...new Set([...m.flags, ...flags])];
      else m.flags = m.flags.filter((f) => !flags.includes(f));
      if (m.flags.join(' ') !== before) {
        m.modSeq = ++mb.modSeq;
        changed.push(this.meta(m));
      }
    }
    if (changed.length > 0) this.emit({ mailboxId, kind: 'flags', uids: changed.map((c) => c.uid) });
    return { changed, failedUnchangedSince };
  }
  async expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    const mb = this.byId(mailboxId);
    const removed = mb.messages.filter((m) => uids.includes(m.uid)).map((m) => m.uid);
    mb.messages = mb.messages.filter((m) => !uids.includes(m.uid));
    mb.modSeq++;
    for (const uid of removed) mb.vanished.push({ uid, modSeq: mb.modSeq });
    if (removed.length > 0) this.emit({ mailboxId, kind: 'expunge', uids: removed });
    return removed;
  }
  async vanishedSince(mailboxId: number, modSeq: number): Promise<number[]> {
    return this.byId(mailboxId).vanished.filter((v) => v.modSeq > modSeq).map((v) => v.uid);
  }
  async copy(mailboxId: number, uids: readonly number[], destination: string, options: { move: boolean }) {
    const dest = this.byName(destination);
    if (!dest) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    const src = this.byId(mailboxId);
    if (!options.move && dest !== src) await this.checkQuota(src.messages.filter((x) => uids.includes(x.uid)).reduce((a, m) => a + m.bytes.length, 0));
    const pairs: [number, number][] = [];
    for (const m of src.messages.filter((x) => uids.includes(x.uid))) {
      const uid = dest.uidNext++;
      dest.messages.push({ ...m, uid, flags: [...m.flags], modSeq: ++dest.modSeq, emailId: options.move ? m.emailId : this.nextEmailId++, savedAt: new Date() });
      pairs.push([m.uid, uid]);
    }
    if (pairs.length > 0) this.emit({ mailboxId: dest.id, kind: 'append' });
    if (options.move) await this.expunge(mailboxId, pairs.map((p) => p[0]));
    return { uidValidity: dest.uidValidity, pairs };
  }
  beginAppend(): ImapAppendSink {
    const chunks: Buffer[] = [];
    let size = 0;
    return {
      write: (c) => {
        chunks.push(c);
        size += c.length;
      },
      get size() {
        return size;
      },
      commit: async (target) => {
        const mb = this.byName(target.mailbox);
        if (!mb) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
        await this.checkQuota(size);
        const uid = this.deliver(target.mailbox, Buffer.concat(chunks), { flags: target.flags, ...(target.internalDate ? { internalDate: target.internalDate } : {}) });
        return { uid, uidValidity: mb.uidValidity };
      },
      abort: () => {
        chunks.length = 0;
      },
    };
  }
  async commitAppends(messages: { sink: ImapAppendSink; target: ImapAppendTarget }[]) {
    // Checked first, so a missing mailbox stores none of them (RFC 3502 §6).
    for (const m of messages) if (!this.byName(m.target.mailbox)) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    await this.checkQuota(messages.reduce((a, m) => a + m.sink.size, 0));
    const out = [];
    for (const m of messages) out.push(await m.sink.commit(m.target));
    return out;
  }
  /** METADATA entries by mailbox id (0: the server). */
  readonly metadata = new Map<number, Map<string, Buffer>>();
  async getMetadata(mailbox: string | null): Promise<{ entry: string; value: Buffer }[] | null> {
    const id = mailbox === null ? 0 : this.byName(mailbox)?.id;
    if (id === undefined) return null;
    return [...(this.metadata.get(id) ?? new Map<string, Buffer>())].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([entry, value]) => ({ entry, value }));
  }
  async setMetadata(mailbox: string | null, changes: readonly { entry: string; value: Buffer | null }[], options: { maxEntries: number }): Promise<boolean> {
    const id = mailbox === null ? 0 : this.byName(mailbox)?.id;
    if (id === undefined) throw new ImapBackendError('NONEXISTENT', 'No such mailbox');
    const next = new Map(this.metadata.get(id));
    for (const c of changes) {
      if (c.value === null) next.delete(c.entry);
      else next.set(c.entry, c.value);
    }
    if (next.size > options.maxEntries) return false;
    this.metadata.set(id, next);
    return true;
  }
  private async checkQuota(addBytes: number): Promise<void> {
    const q = await this.quota();
    if (q.limitBytes !== null && q.usedBytes + addBytes > q.limitBytes) throw new ImapBackendError('OVERQUOTA', 'Quota exceeded');
  }
  async quota() {
    const used = this.mailboxes.reduce((a, mb) => a + mb.messages.reduce((b, m) => b + m.bytes.length, 0), 0);
    return { usedBytes: used, limitBytes: this.quotaLimit };
  }
  watch(listener: (change: ImapChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export class MemoryBackend implements ImapBackend {
  readonly accounts = new Map<string, { password: string; account: MemoryAccount; id: number }>();

  addUser(address: string, password: string): MemoryAccount {
    const account = new MemoryAccount();
    this.accounts.set(address, { password, account, id: this.accounts.size + 1 });
    return account;
  }

  async openAccount(identity: AuthIdentity): Promise<ImapAccount> {
    return this.accounts.get(identity.address)!.account;
  }

  authenticator(): SaslAuthenticator {
    const check = (user: string, pass: string): SaslStep => {
      const a = this.accounts.get(user);
      if (a === undefined || a.password !== pass) return { kind: 'failure', reason: 'invalid-credentials' };
      return { kind: 'success', identity: { accountId: a.id, address: user } };
    };
    return {
      mechanisms: () => ['PLAIN'],
      start: (mech) => {
        if (mech !== 'PLAIN') return null;
        return {
          step: async (response) => {
            if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
            const [, user, pass] = response.toString('utf8').split('\0');
            if (user === undefined || pass === undefined) return { kind: 'failure', reason: 'malformed' };
            return check(user, pass);
          },
        };
      },
      checkPassword: async (user, pass) => check(user, pass),
    };
  }
}

/** A session plus a transcript helper: `send()` returns everything the server wrote, as text. */
export class TestClient {
  readonly session: ImapSession;
  readonly pushed: string[] = [];
  #during: Promise<string>[] | null = null;

  constructor(backend: MemoryBackend, options: Partial<ImapSessionOptions> = {}) {
    const context: EngineContext = {
      sessionId: 't1',
      remoteAddress: '127.0.0.1',
      tls: null,
      push: (o) => {
        // Pushed while a receive() runs (the answers of pipelined commands, handed over one by one): part of what that send() returns.
        if (this.#during !== null) this.#during.push(outputText(o));
        else void outputText(o).then((t) => this.pushed.push(t));
      },
    };
    this.session = new ImapSession({ backend, sasl: backend.authenticator(), context, allowPlaintextAuth: true, ...options });
  }

  async greet(): Promise<string> {
    return outputText(await this.session.start());
  }

  async send(text: string | Buffer): Promise<string> {
    const during: Promise<string>[] = [];
    this.#during = during;
    try {
      const output = await this.session.receive(Buffer.isBuffer(text) ? text : Buffer.from(text));
      this.#during = null;
      return (await Promise.all(during)).join('') + (await outputText(output));
    } finally {
      if (this.#during === during) this.#during = null;
    }
  }

  async login(user = 'alice@example.org', pass = 'secret'): Promise<string> {
    return this.send(`L1 LOGIN ${user} ${pass}\r\n`);
  }
}

/** Everything an output writes, streams drained, as the driver would write it; `<then>` marks the next step. */
export async function outputText(o: EngineOutput): Promise<string> {
  let text = '';
  for (const p of o.data as OutputPart[]) {
    if (typeof p === 'string') text += p;
    else if (Buffer.isBuffer(p)) text += p.toString('utf8');
    else for await (const chunk of p) text += chunk.toString('utf8');
  }
  return text + (o.then ? `<${o.then}>` : '');
}
