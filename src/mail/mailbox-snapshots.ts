/**
 * What IMAP SELECT needs of a mailbox (UIDs, unseen count, first unseen UID, keywords), kept between
 * SELECTs so a big mailbox is not read whole each time (STATUS reads just the counts: summary()). An entry is keyed on the database's own state
 * (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ of the mailbox row): every change to a mailbox's messages
 * (append, copy or move in, flag change, expunge) raises HIGHESTMODSEQ, whichever process made it. A
 * stale entry is brought forward with the changes since its modseq (MailStore.mailboxDelta); a missing
 * or far-behind one is rebuilt from MailStore.selectState. Bounded: least recently used entries go
 * first when the total size passes `maxBytes` (core/byte-lru.ts).
 */
import { ByteLru } from '../core/byte-lru.ts';
import { hasFlag, isKeyword, parseFlagText } from '../core/flag-text.ts';
import { UidMap } from '../protocols/imap/uid-map.ts';
import type { MailboxRecord, MailboxSelectState, MailStore } from '../store/types.ts';

/** The state at one moment: UIDNEXT and HIGHESTMODSEQ are those that go with these UIDs. */
export interface MailboxSnapshot {
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  /** The caller's own copy. */
  uids: UidMap;
  unseen: number;
  /** 0 when every message is seen. */
  firstUnseenUid: number;
  keywords: string[];
}

/** The numbers STATUS reports from a snapshot. */
export interface MailboxSummary {
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  messages: number;
  unseen: number;
}

interface Entry {
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  uids: UidMap;
  /** Bit (uid - base) is set when that message is present and has no \Seen. */
  base: number;
  unseenBits: Uint32Array;
  unseen: number;
  keywords: Set<string>;
  sortedKeywords: string[] | null;
}

export interface MailboxSnapshotsOptions {
  store: Pick<MailStore, 'selectState' | 'mailboxDelta'>;
  /** Total size of the cached entries (default 32 MiB). */
  maxBytes?: number;
  /** Changes beyond which an entry is rebuilt rather than brought forward (default 10,000). */
  maxDelta?: number;
}

function addKeywords(keywords: Set<string>, flags: string): boolean {
  let added = false;
  for (const f of parseFlagText(flags)) {
    if (!isKeyword(f) || keywords.has(f)) continue;
    keywords.add(f);
    added = true;
  }
  return added;
}

export class MailboxSnapshots {
  private readonly store: MailboxSnapshotsOptions['store'];
  private readonly maxBytes: number;
  private readonly maxDelta: number;
  private readonly entries: ByteLru<number, Entry>;

  constructor(options: MailboxSnapshotsOptions) {
    this.store = options.store;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.entries = new ByteLru(this.maxBytes);
    this.maxDelta = options.maxDelta ?? 10_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The state of `mailbox`, at least as recent as the record passed (it may be more recent: its own
   * UIDNEXT and HIGHESTMODSEQ say so); null when the mailbox is gone.
   */
  async snapshot(mailbox: MailboxRecord): Promise<MailboxSnapshot | null> {
    const r = await this.current(mailbox);
    if (r === null) return null;
    if ('entry' in r) return this.view(r.entry);
    const { mailbox: m, uids, unseenUids, keywords } = r.state;
    return { uidValidity: m.uidValidity, uidNext: m.uidNext, highestModSeq: m.highestModSeq, uids: UidMap.from(uids), unseen: unseenUids.length, firstUnseenUid: unseenUids[0] ?? 0, keywords };
  }

  /** What STATUS asks of snapshot() (counts and the mailbox row's numbers), without copying the UIDs. */
  async summary(mailbox: MailboxRecord): Promise<MailboxSummary | null> {
    const r = await this.current(mailbox);
    if (r === null) return null;
    if ('entry' in r) {
      const { uidValidity, uidNext, highestModSeq, unseen } = r.entry;
      return { uidValidity, uidNext, highestModSeq, messages: r.entry.uids.length, unseen };
    }
    const { mailbox: m, uids, unseenUids } = r.state;
    return { uidValidity: m.uidValidity, uidNext: m.uidNext, highestModSeq: m.highestModSeq, messages: uids.length, unseen: unseenUids.length };
  }

  /**
   * The cached entry for `mailbox`, brought forward or rebuilt as needed; the state read from the store
   * when it is too big to keep; null when the mailbox is gone.
   */
  private async current(mailbox: MailboxRecord): Promise<{ entry: Entry } | { state: MailboxSelectState } | null> {
    const id = mailbox.id;
    for (let attempt = 0; attempt < 3; attempt++) {
      const e = this.entries.peek(id);
      if (e !== undefined && e.uidValidity === mailbox.uidValidity && e.highestModSeq >= mailbox.highestModSeq && e.uidNext >= mailbox.uidNext) {
        this.entries.get(id); // now the most recently used
        return { entry: e };
      }
      if (e === undefined || e.uidValidity !== mailbox.uidValidity) break;
      const since = e.highestModSeq;
      const delta = await this.store.mailboxDelta(id, since, { maxChanges: this.maxDelta });
      if (delta === null || delta.mailbox.uidValidity !== e.uidValidity) break;
      // Another SELECT may have moved the entry on while this one waited: start again from it.
      if (this.entries.peek(id) !== e || e.highestModSeq !== since) continue;
      if (!this.apply(e, delta.mailbox, delta.changed, delta.vanished)) {
        this.entries.delete(id);
        break;
      }
      // Counted again at its new size, as the most recently used.
      this.entries.set(id, e, this.sizeOf(e));
      return { entry: e };
    }
    const state = await this.store.selectState(id);
    if (state === null) {
      this.entries.delete(id);
      return null;
    }
    const entry = this.build(state.mailbox, state.uids, state.unseenUids, state.keywords);
    const current = this.entries.peek(id);
    // Keep whichever is newer when two rebuilds raced.
    if (entry !== null && (current === undefined || current.uidValidity !== entry.uidValidity || current.highestModSeq <= entry.highestModSeq)) {
      this.entries.set(id, entry, this.sizeOf(entry));
    }
    return entry !== null ? { entry } : { state };
  }

  /** Forgets a mailbox (deleted); not needed for correctness, which rests on the key. */
  forget(mailboxId: number): void {
    this.entries.delete(mailboxId);
  }

  private view(e: Entry): MailboxSnapshot {
    e.sortedKeywords ??= [...e.keywords].sort();
    const { uidValidity, uidNext, highestModSeq } = e;
    return { uidValidity, uidNext, highestModSeq, uids: e.uids.clone(), unseen: e.unseen, firstUnseenUid: this.firstUnseen(e), keywords: e.sortedKeywords };
  }

  private firstUnseen(e: Entry): number {
    if (e.unseen === 0) return 0;
    const bits = e.unseenBits;
    for (let w = 0; w < bits.length; w++) {
      const word = bits[w]!;
      if (word !== 0) return e.base + w * 32 + (31 - Math.clz32(word & -word));
    }
    return 0;
  }

  /** null when the UID span is too big to keep a bit per UID within the budget. */
  private build(mailbox: MailboxRecord, uids: Uint32Array, unseenUids: Uint32Array, keywords: string[]): Entry | null {
    const base = uids.length > 0 ? uids[0]! : mailbox.uidNext;
    const words = Math.ceil(Math.max(1, mailbox.uidNext - base) / 32);
    if (words * 4 > this.maxBytes / 8) return null;
    const unseenBits = new Uint32Array(words);
    for (let i = 0; i < unseenUids.length; i++) {
      const off = unseenUids[i]! - base;
      unseenBits[off >>> 5]! |= 1 << (off & 31);
    }
    const map = UidMap.from(uids);
    const e: Entry = {
      uidValidity: mailbox.uidValidity,
      uidNext: mailbox.uidNext,
      highestModSeq: mailbox.highestModSeq,
      uids: map,
      base,
      unseenBits,
      unseen: unseenUids.length,
      keywords: new Set(keywords),
      sortedKeywords: keywords,
    };
    return e;
  }

  private sizeOf(e: Entry): number {
    return 200 + e.unseenBits.byteLength + e.uids.runCount * 8 + e.keywords.size * 40;
  }

  /** Applies changes in place; false when they do not fit what the entry knows (it is then rebuilt). */
  private apply(e: Entry, mailbox: MailboxRecord, changed: [number, string][], vanished: number[]): boolean {
    const gone: number[] = [];
    for (const uid of vanished) {
      if (uid < e.base || e.uids.indexOf(uid) < 0) continue;
      gone.push(uid);
      const off = uid - e.base;
      const bit = 1 << (off & 31);
      if ((e.unseenBits[off >>> 5]! & bit) !== 0) {
        e.unseenBits[off >>> 5]! &= ~bit;
        e.unseen--;
      }
    }
    e.uids.remove(gone);
    for (const [uid, flags] of changed) {
      if (uid < e.base) return false;
      if (uid > e.uids.last) {
        e.uids.push(uid); // a new message (ascending order)
      } else if (e.uids.indexOf(uid) < 0) {
        return false; // neither new nor known: the entry does not describe this mailbox
      }
      const off = uid - e.base;
      if ((off >>> 5) >= e.unseenBits.length) {
        const grown = new Uint32Array(Math.max((off >>> 5) + 1, e.unseenBits.length * 2));
        if (grown.byteLength > this.maxBytes / 8) return false;
        grown.set(e.unseenBits);
        e.unseenBits = grown;
      }
      const bit = 1 << (off & 31);
      const was = (e.unseenBits[off >>> 5]! & bit) !== 0;
      const now = !hasFlag(flags, '\\Seen');
      if (was !== now) {
        e.unseenBits[off >>> 5]! ^= bit;
        e.unseen += now ? 1 : -1;
      }
      // Keywords only accumulate until the next rebuild: FLAGS may list one no message carries any more
      // (RFC 9051 §7.3.5 lists the flags applicable in the mailbox; Dovecot keeps them the same way).
      if (addKeywords(e.keywords, flags)) e.sortedKeywords = null;
    }
    e.uidNext = mailbox.uidNext;
    e.highestModSeq = mailbox.highestModSeq;
    return true;
  }
}
