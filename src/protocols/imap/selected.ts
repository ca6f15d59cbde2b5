/**
 * The selected mailbox as one session sees it (RFC 9051 §7.5): the sequence-number → UID map, and
 * changes made by others, held until the session may report them (EXISTS, EXPUNGE/VANISHED, FETCH FLAGS).
 * The UID map is run-length compressed (see uid-map.ts); flags are not held, they are read when needed.
 */
import type { ImapAccount, ImapChange, ImapMailboxSnapshot } from './backend.ts';
import type { RecentClaims } from './recent-claims.ts';
import { formatFlags, SYSTEM_FLAGS } from './response.ts';
import { formatSearchUpdate, formatSortUpdate, type SearchUpdate } from './search-update.ts';
import { formatSequenceSet } from './sequence-set.ts';
import { UidMap } from './uid-map.ts';

export class SelectedMailbox {
  readonly id: number;
  readonly name: string;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  /** Ascending UIDs; message sequence number n is uids.at(n - 1). */
  readonly uids: UidMap;
  /** The highest modseq this session has reported or seen. */
  knownModSeq: number;
  /** RFC 3501 §2.3.2: the messages that are \Recent in this session (ascending UIDs). */
  readonly recent = UidMap.from([]);
  private readonly claims: RecentClaims | undefined;
  /** Keywords announced to the client in FLAGS, in order; `keywordSet` holds them lower-cased. */
  private readonly keywords: string[];
  private readonly keywordSet: Set<string>;
  private expunged = new Set<number>();
  private hasNew = false;
  private flagsDirty = false;
  private fullResync = false;
  /** Modseqs this session knows of already (its own STORE, arrivals it announced), so they are not reported again. */
  private ownModSeqs = new Map<number, number>();
  /** RFC 5267 §4.2: the searches kept up to date in this selection, by tag; they end with it. */
  readonly searchUpdates = new Map<string, SearchUpdate>();
  /** This session changed flags itself: the updating searches are evaluated again after the command. */
  searchUpdatesDirty = false;

  constructor(snapshot: ImapMailboxSnapshot, options: { readOnly: boolean; recent?: RecentClaims }) {
    this.id = snapshot.id;
    this.name = snapshot.name;
    this.readOnly = options.readOnly;
    this.uidValidity = snapshot.uidValidity;
    this.uids = snapshot.uids instanceof UidMap ? snapshot.uids : UidMap.from(snapshot.uids);
    this.knownModSeq = snapshot.highestModSeq;
    this.keywords = [...snapshot.keywords];
    this.keywordSet = new Set(snapshot.keywords.map((k) => k.toLowerCase()));
    this.claims = options.recent;
    if (this.claims !== undefined) {
      // RFC 3501 §6.3.2: SELECT takes the unclaimed messages; EXAMINE shows them as recent and leaves them.
      const first = this.readOnly ? this.claims.peek(this.id, snapshot.uidNext) : this.claims.claimBelow(this.id, snapshot.uidNext);
      this.uids.forEachSpan(this.uids.lowerBound(first), this.uids.length, (_, uid, count) => {
        for (let i = 0; i < count; i++) this.recent.push(uid + i);
      });
    }
  }

  /** The FLAGS and PERMANENTFLAGS responses for the keywords known so far (RFC 9051 §7.3.5, §7.1). */
  flagsResponses(): string[] {
    const flags = [...SYSTEM_FLAGS, ...this.keywords];
    return [`FLAGS ${formatFlags(flags)}`, `OK [PERMANENTFLAGS ${this.readOnly ? '()' : formatFlags([...flags, '\\*'])}] Flags permitted`];
  }

  /**
   * RFC 9051 §7.3.5: the FLAGS response tells the client which flags the mailbox has; a keyword it has not
   * been told of is announced (FLAGS, PERMANENTFLAGS) before the first response that uses it.
   */
  announceKeywords(flags: readonly string[]): string[] {
    let added = false;
    for (const f of flags) {
      if (f.startsWith('\\') || this.keywordSet.has(f.toLowerCase())) continue;
      this.keywordSet.add(f.toLowerCase());
      this.keywords.push(f);
      added = true;
    }
    return added ? this.flagsResponses() : [];
  }

  /** RFC 3501 §7.3.2: the number of messages with \Recent set. */
  get recentCount(): number {
    return this.recent.length;
  }

  isRecent(uid: number): boolean {
    return this.recent.length > 0 && this.recent.indexOf(uid) >= 0;
  }

  get exists(): number {
    return this.uids.length;
  }

  get lastUid(): number {
    return this.uids.last;
  }

  get hasPending(): boolean {
    return this.expunged.size > 0 || this.hasNew || this.flagsDirty || this.fullResync;
  }

  seqOf(uid: number): number {
    return this.uids.indexOf(uid) + 1;
  }

  onChange(change: ImapChange): void {
    if (change.kind === 'reset') {
      // Changes may have been missed: compare everything with the store at the next chance.
      this.fullResync = this.hasNew = this.flagsDirty = true;
      return;
    }
    if (change.mailboxId !== this.id) return;
    if (change.kind === 'append') this.hasNew = true;
    else if (change.kind === 'flags') this.flagsDirty = true;
    else if (change.kind === 'expunge') {
      if (change.uids === undefined) this.fullResync = true;
      else for (const uid of change.uids) this.expunged.add(uid);
    }
  }

  /**
   * This session stored messages here (APPEND, COPY) that the change feed tells of only once durable: they
   * are looked for at the end of the command, so it reports them (EXISTS) as it would another's arrivals.
   */
  noteOwnArrivals(): void {
    this.hasNew = true;
  }

  noteOwnStore(uid: number, modSeq: number): void {
    this.searchUpdatesDirty = true;
    this.ownModSeqs.set(uid, modSeq);
    if (this.ownModSeqs.size > 10_000) this.ownModSeqs.clear();
  }

  /**
   * The ESEARCH REMOVEFROM lines for updating searches that hold some of `uids`, which are about to
   * be expunged: sent before the EXPUNGE responses, while their sequence numbers are still valid.
   */
  takeRemovedFromSearches(uids: readonly number[]): string[] {
    const out: string[] = [];
    for (const u of this.searchUpdates.values()) {
      if (u.sort !== undefined) {
        const leaving = new Set(uids);
        const line = formatSortUpdate(u, u.sort.order.filter((uid) => !leaving.has(uid)), (uid) => (u.isUid ? uid : this.seqOf(uid)));
        if (line !== null) out.push(line);
        continue;
      }
      const gone = uids.filter((uid) => u.uids.delete(uid));
      const line = formatSearchUpdate(u, { removed: u.isUid ? gone : gone.map((uid) => this.seqOf(uid)).filter((n) => n > 0) });
      if (line !== null) out.push(line);
    }
    return out;
  }

  /** Removes UIDs this session expunged itself; returns their former sequence numbers, descending. */
  removeUids(uids: readonly number[]): number[] {
    const seqs: number[] = [];
    for (const uid of uids) {
      const s = this.seqOf(uid);
      if (s > 0) seqs.push(s);
    }
    seqs.sort((a, b) => b - a);
    this.uids.remove(uids);
    if (this.recent.length > 0) this.recent.remove(uids);
    return seqs;
  }

  /**
   * Removes expunged UIDs and returns the responses that report them: VANISHED when `vanished` (QRESYNC,
   * RFC 7162 §3.2.10, or UIDONLY, RFC 9586 §3), else one EXPUNGE per message in descending order, so
   * that each number stays valid while the ones before it are applied (RFC 9051 §7.5.1).
   */
  expungeResponses(uids: readonly number[], vanished: boolean): string[] {
    if (vanished) {
      const known = uids.filter((uid) => this.seqOf(uid) > 0).sort((a, b) => a - b);
      this.removeUids(known);
      return known.length > 0 ? [`VANISHED ${formatSequenceSet(known)}`] : [];
    }
    return this.removeUids(uids).map((seq) => `${seq} EXPUNGE`);
  }

  /**
   * The untagged responses for pending changes. EXPUNGE is held back when `allowExpunge` is false
   * (RFC 9051 §7.5.1); with QRESYNC or UIDONLY enabled, VANISHED replaces EXPUNGE.
   */
  async sync(account: ImapAccount, options: { allowExpunge: boolean; vanished: boolean; uidOnly: boolean; condstore: boolean; rev1: boolean }): Promise<string[]> {
    const out: string[] = [];
    if (this.fullResync) {
      const all = this.uids.slice();
      const present = await account.messages(this.id, all);
      const keep = new Set(present.map((m) => m.uid));
      for (const uid of all) if (!keep.has(uid)) this.expunged.add(uid);
      this.fullResync = false;
    }
    if (options.allowExpunge && this.expunged.size > 0) {
      const gone = [...this.expunged].filter((uid) => this.seqOf(uid) > 0).sort((a, b) => a - b);
      this.expunged.clear();
      if (gone.length > 0) {
        out.push(...this.takeRemovedFromSearches(gone));
        out.push(...this.expungeResponses(gone, options.vanished));
      }
    }
    const arrived = new Set<number>();
    if (this.hasNew) {
      this.hasNew = false;
      const fresh = await account.changedSince(this.id, { uidFrom: this.lastUid + 1 });
      for (const m of fresh) {
        if (m.uid <= this.lastUid) continue;
        out.push(...this.announceKeywords(m.flags));
        this.uids.push(m.uid);
        arrived.add(m.uid);
        // Reported with EXISTS at this modseq: a later flags pass reports it only if it changed since.
        if (this.ownModSeqs.size < 10_000) this.ownModSeqs.set(m.uid, m.modSeq);
      }
      if (arrived.size > 0) {
        out.push(`${this.uids.length} EXISTS`);
        // RFC 3501 §2.3.2: this session is the first told of these messages, unless another one was.
        for (const uid of this.claims?.claimArrivals(this.id, [...arrived], { readOnly: this.readOnly }) ?? []) this.recent.push(uid);
        if (options.rev1) out.push(`${this.recentCount} RECENT`);
      }
    }
    if (this.flagsDirty) {
      this.flagsDirty = false;
      const changed = await account.changedSince(this.id, { modSeq: this.knownModSeq });
      for (const m of changed) {
        if (m.modSeq > this.knownModSeq) this.knownModSeq = m.modSeq;
        const seq = this.seqOf(m.uid);
        // New arrivals are announced by EXISTS; the client fetches their flags itself.
        if (seq === 0 || arrived.has(m.uid) || this.ownModSeqs.get(m.uid) === m.modSeq) continue;
        out.push(...this.announceKeywords(m.flags));
        const modseq = options.condstore ? ` MODSEQ (${m.modSeq})` : '';
        const uid = options.uidOnly ? '' : `UID ${m.uid} `;
        out.push(`${fetchHead(seq, m.uid, options.uidOnly)} (${uid}FLAGS ${this.formatFlags(m.uid, m.flags, options.rev1)}${modseq})`);
      }
      this.ownModSeqs.clear();
    }
    return out;
  }

  /** A message's FLAGS as this session reports them: IMAP4rev1 sessions see \Recent (RFC 3501 §2.3.2). */
  formatFlags(uid: number, flags: readonly string[], rev1: boolean): string {
    return formatFlags(rev1 && this.isRecent(uid) ? ['\\Recent', ...flags] : flags);
  }
}

/**
 * The start of a FETCH response: `n FETCH`, or under UIDONLY `uid UIDFETCH` (RFC 9586 §3.3), where the
 * UID takes the message number's place.
 */
export function fetchHead(seq: number, uid: number, uidOnly: boolean): string {
  return uidOnly ? `${uid} UIDFETCH` : `${seq} FETCH`;
}
