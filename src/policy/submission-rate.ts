/**
 * Per-user sending limits for submission: messages and recipients per rolling hour (451 4.7.1 beyond).
 * In memory, bounded; a restart forgets the counts (a deliberate trade: limits are a brake, not an account).
 * Each accepted RCPT reserves its recipient (and, the first one, its message) at once, so parallel sessions
 * see each other's open transactions; the reservation becomes a sent record when the message is accepted
 * and is given back when the transaction ends otherwise (RSET, refused data, disconnect, timeout).
 * Nodes sharing one store tell each other what was sent (`onRecord`, `applyRemote`; app/shared-limits.ts).
 */

export interface SubmissionRateOptions {
  messagesPerHour: number;
  recipientsPerHour: number;
  now?: () => number;
  maxUsers?: number;
  /** Each send recorded here, so nodes sharing a store can count it too (`applyRemote`). */
  onRecord?: (user: string, recipients: number, at: number) => void;
}

const HOUR_MS = 3600_000;

interface Sent {
  at: number;
  recipients: number;
}

interface Reservation {
  user: string;
  recipients: number;
  at: number;
}

export class SubmissionRateLimiter {
  private readonly options: Required<Omit<SubmissionRateOptions, 'now' | 'onRecord'>> & { now: () => number; onRecord?: SubmissionRateOptions['onRecord'] };
  private readonly events = new Map<string, Sent[]>();
  /** Open transactions by id; one per session at most, so bounded by the connection limits. */
  private readonly reservations = new Map<string, Reservation>();
  /** The same, per user (transaction ids), to sum a user's open reservations. */
  private readonly byUser = new Map<string, Set<string>>();

  constructor(options: SubmissionRateOptions) {
    this.options = { maxUsers: 100_000, now: Date.now, ...options };
  }

  private recent(user: string): Sent[] {
    const cutoff = this.options.now() - HOUR_MS;
    const list = (this.events.get(user) ?? []).filter((e) => e.at > cutoff);
    if (list.length === 0) this.events.delete(user);
    else this.events.set(user, list);
    return list;
  }

  /** The user's open reservations; one older than the window is dropped (a transaction never ended). */
  private open(user: string): Reservation[] {
    const ids = this.byUser.get(user);
    if (!ids) return [];
    const cutoff = this.options.now() - HOUR_MS;
    const live: Reservation[] = [];
    for (const id of ids) {
      const r = this.reservations.get(id);
      if (r && r.at > cutoff) live.push(r);
      else this.forget(id);
    }
    return live;
  }

  /**
   * Reserves one more recipient of transaction `transactionId` for `user` (and the message itself with its
   * first recipient); false, reserving nothing, when that would pass either hourly limit counting what was
   * sent and what other open transactions hold.
   */
  reserve(user: string, transactionId: string): boolean {
    const sent = this.recent(user);
    const open = this.open(user);
    const mine = this.reservations.get(transactionId);
    const messages = sent.length + open.length + (mine ? 0 : 1);
    const recipients = sent.reduce((n, e) => n + e.recipients, 0) + open.reduce((n, r) => n + r.recipients, 0) + 1;
    if (messages > this.options.messagesPerHour || recipients > this.options.recipientsPerHour) return false;
    if (mine) {
      mine.recipients++;
      return true;
    }
    this.reservations.set(transactionId, { user, recipients: 1, at: this.options.now() });
    const ids = this.byUser.get(user) ?? new Set<string>();
    ids.add(transactionId);
    this.byUser.set(user, ids);
    return true;
  }

  /** One reserved recipient was refused after all (e.g. unknown local user). */
  unreserveRecipient(transactionId: string): void {
    const r = this.reservations.get(transactionId);
    if (r && r.recipients > 0) r.recipients--;
  }

  /** The transaction ended: accepted, its reservation is recorded as sent; otherwise it is given back. */
  settle(transactionId: string, accepted: boolean): void {
    const r = this.reservations.get(transactionId);
    if (!r) return;
    this.forget(transactionId);
    if (accepted && r.recipients > 0) {
      const at = this.options.now();
      this.record(r.user, r.recipients, at);
      this.options.onRecord?.(r.user, r.recipients, at);
    }
  }

  /** A send another node recorded (at its time `at`); counted here from now on, until its hour is over. */
  applyRemote(user: string, recipients: number, at: number): void {
    if (at > this.options.now() - HOUR_MS && recipients > 0) this.record(user, recipients, at);
  }

  private forget(transactionId: string): void {
    const r = this.reservations.get(transactionId);
    this.reservations.delete(transactionId);
    if (!r) return;
    const ids = this.byUser.get(r.user);
    ids?.delete(transactionId);
    if (ids && ids.size === 0) this.byUser.delete(r.user);
  }

  private record(user: string, recipients: number, at: number): void {
    if (!this.events.has(user) && this.events.size >= this.options.maxUsers) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    const list = this.recent(user);
    list.push({ at, recipients });
    this.events.set(user, list);
  }

  /** For tests and diagnostics: open transactions holding a reservation. */
  get openTransactions(): number {
    return this.reservations.size;
  }
}
