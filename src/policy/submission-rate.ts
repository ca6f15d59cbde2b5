/**
 * Per-user sending limits for submission: messages and recipients per rolling hour (451 4.7.1 beyond).
 * In memory, bounded; a restart forgets the counts (a deliberate trade: limits are a brake, not an account).
 */

export interface SubmissionRateOptions {
  messagesPerHour: number;
  recipientsPerHour: number;
  now?: () => number;
  maxUsers?: number;
}

const HOUR_MS = 3600_000;

export class SubmissionRateLimiter {
  private readonly options: Required<Omit<SubmissionRateOptions, 'now'>> & { now: () => number };
  private readonly events = new Map<string, { at: number; recipients: number }[]>();

  constructor(options: SubmissionRateOptions) {
    this.options = { maxUsers: 100_000, now: Date.now, ...options };
  }

  private recent(user: string): { at: number; recipients: number }[] {
    const cutoff = this.options.now() - HOUR_MS;
    const list = (this.events.get(user) ?? []).filter((e) => e.at > cutoff);
    this.events.set(user, list);
    return list;
  }

  /** Whether one more message to `recipients` recipients fits in the user's hour. */
  allows(user: string, recipients: number): boolean {
    const list = this.recent(user);
    const sentRecipients = list.reduce((n, e) => n + e.recipients, 0);
    return list.length + 1 <= this.options.messagesPerHour && sentRecipients + recipients <= this.options.recipientsPerHour;
  }

  record(user: string, recipients: number): void {
    if (!this.events.has(user) && this.events.size >= this.options.maxUsers) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    this.recent(user).push({ at: this.options.now(), recipients });
  }
}
