/**
 * Who sees a message as \Recent (RFC 3501 §2.3.2): exactly one session, the first to be told of the
 * message with the mailbox selected read-write. Kept per mailbox as the first UID no session has claimed.
 */

/** Mailboxes remembered at most; a forgotten one starts again with nothing recent. */
const MAX_MAILBOXES = 100_000;

export class RecentClaims {
  /** mailbox id → the lowest UID not yet claimed by any session. */
  private readonly firstUnclaimed = new Map<number, number>();

  constructor(private readonly maxMailboxes = MAX_MAILBOXES) {}

  /**
   * New messages stored in a mailbox. A mailbox first heard of this way has all of them unclaimed; one
   * first heard of at SELECT or STATUS starts at its UIDNEXT (what arrived before the server started, or
   * before it was forgotten, is not recent: the claims are kept in memory only).
   */
  noteArrivals(mailboxId: number, uids: readonly number[]): void {
    if (this.firstUnclaimed.has(mailboxId) || uids.length === 0) return;
    this.remember(mailboxId, Math.min(...uids));
  }

  /** The first unclaimed UID, without claiming (EXAMINE, STATUS: RFC 3501 §6.3.2 keeps \Recent). */
  peek(mailboxId: number, uidNext: number): number {
    const first = this.firstUnclaimed.get(mailboxId);
    if (first !== undefined) return first;
    this.remember(mailboxId, uidNext);
    return uidNext;
  }

  /** A read-write SELECT takes every unclaimed UID below `uidNext`; returns the first of them. */
  claimBelow(mailboxId: number, uidNext: number): number {
    const first = this.peek(mailboxId, uidNext);
    if (uidNext > first) this.firstUnclaimed.set(mailboxId, uidNext);
    return first;
  }

  /**
   * Messages newly reported to a session (ascending UIDs): those no session claimed yet are recent for
   * it, and are claimed unless the session is read-only.
   */
  claimArrivals(mailboxId: number, uids: readonly number[], options: { readOnly: boolean }): number[] {
    if (uids.length === 0) return [];
    const first = this.peek(mailboxId, uids[0]!);
    const mine = uids.filter((u) => u >= first);
    if (!options.readOnly && mine.length > 0) this.firstUnclaimed.set(mailboxId, mine[mine.length - 1]! + 1);
    return mine;
  }

  forget(mailboxId: number): void {
    this.firstUnclaimed.delete(mailboxId);
  }

  private remember(mailboxId: number, first: number): void {
    if (this.firstUnclaimed.size >= this.maxMailboxes) {
      const oldest = this.firstUnclaimed.keys().next().value;
      if (oldest !== undefined) this.firstUnclaimed.delete(oldest);
    }
    this.firstUnclaimed.set(mailboxId, first);
  }
}
