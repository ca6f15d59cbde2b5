/**
 * Vacation responses at delivery (RFC 8621 §8, RFC 3834): after a message is stored for an account whose
 * vacation response is on, one reply per sender per period goes out through the sending service. Accounts
 * without one cost a set lookup: the enabled accounts are kept in memory, following the change feed.
 */
import type { Logger } from '../core/log.ts';
import { autoReplyRefusal, composeAutoReply } from '../message/auto-reply.ts';
import { findHeaderEnd, parseHeaderFields } from '../message/header-fields.ts';
import type { Store, VacationRecord } from '../store/types.ts';
import type { SubmissionService } from '../submission/service.ts';

/** Header fields read from a message to decide on a reply; more are ignored. */
const MAX_FIELDS = 1000;

/** A message just stored (durably) in the mailboxes of `accountIds`. */
export interface DeliveredMessage {
  queueId: string;
  /** The envelope sender: the reply goes there (RFC 3834 §4, RFC 5230 §4.5). */
  sender: string;
  /** The envelope recipients, as accepted. */
  recipients: readonly string[];
  accountIds: readonly number[];
  /** The message's header section as received (at least up to its empty line). */
  header: Buffer;
  /** Mail filed as junk is never answered (replies to spam are backscatter). */
  junk: boolean;
}

export interface VacationReplierOptions {
  store: Pick<Store, 'getVacation' | 'listEnabledVacations' | 'claimVacationReply' | 'getAccountById' | 'subscribe'>;
  /** The accounts an envelope recipient reaches (the planner's resolver, cached). */
  accountsOf(address: string): Promise<number[]>;
  sender: Pick<SubmissionService, 'sendAutomatic'>;
  /** vacation.reply_period. */
  periodMs: number;
  logger: Logger;
  now?: () => Date;
}

export class VacationReplier {
  private readonly o: VacationReplierOptions;
  private enabled = new Set<number>();
  private unsubscribe: (() => void) | null = null;
  /** Replies being worked on, so stop() can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(options: VacationReplierOptions) {
    this.o = options;
  }

  /** Loads the enabled accounts and follows changes (this process's, the CLI's, other nodes'). */
  async start(): Promise<void> {
    this.unsubscribe = this.o.store.subscribe((change) => {
      if (change.kind === 'reset') void this.reload();
      else if (change.kind === 'account' && (change.event === 'vacation' || change.event === 'removed')) void this.refresh(change.accountId);
    });
    await this.reload();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await Promise.all([...this.pending]);
  }

  /** Whether one of the accounts has its vacation response on: the whole cost for everyone else. */
  wants(accountIds: readonly number[]): boolean {
    if (this.enabled.size === 0) return false;
    for (const id of accountIds) if (this.enabled.has(id)) return true;
    return false;
  }

  /** Called after the message is durable; never throws and never delays the caller. */
  delivered(message: DeliveredMessage): void {
    if (message.junk || !this.wants(message.accountIds)) return;
    const work = this.answer(message).catch((err: unknown) => {
      this.o.logger.error({ event: 'vacation.failed', queueId: message.queueId, err }, 'vacation response failed');
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private async reload(): Promise<void> {
    try {
      this.enabled = new Set(await this.o.store.listEnabledVacations());
    } catch (err) {
      this.o.logger.warn({ event: 'vacation.load_failed', err }, 'reading the enabled vacation responses failed');
    }
  }

  private async refresh(accountId: number): Promise<void> {
    try {
      const vacation = await this.o.store.getVacation(accountId);
      if (vacation.isEnabled) this.enabled.add(accountId);
      else this.enabled.delete(accountId);
    } catch (err) {
      this.o.logger.warn({ event: 'vacation.load_failed', accountId, err }, 'reading a vacation response failed');
    }
  }

  private async answer(message: DeliveredMessage): Promise<void> {
    const header = message.header.subarray(0, findHeaderEnd(message.header, 0, message.header.length).fieldsEnd);
    const fields = parseHeaderFields(header, 0, header.length, MAX_FIELDS);
    for (const accountId of message.accountIds) {
      if (!this.enabled.has(accountId)) continue;
      const [vacation, account] = await Promise.all([this.o.store.getVacation(accountId), this.o.store.getAccountById(accountId)]);
      if (!account || account.disabled || !isActive(vacation, this.now())) continue;
      const recipients = [account.address];
      for (const r of message.recipients) if ((await this.o.accountsOf(r)).includes(accountId)) recipients.push(r);
      const log = { queueId: message.queueId, account: account.address, sender: message.sender };
      const refusal = autoReplyRefusal({ sender: message.sender, fields, recipients });
      if (refusal !== null) {
        this.o.logger.info({ event: 'vacation.skipped', ...log, reason: refusal }, 'no vacation response for this message');
        continue;
      }
      const now = this.now();
      // RFC 3834 §2: at most one reply per sender per period, recorded before sending (a crash loses a reply, never doubles one).
      if (!(await this.o.store.claimVacationReply(accountId, message.sender, now, new Date(now.getTime() - this.o.periodMs)))) {
        this.o.logger.info({ event: 'vacation.skipped', ...log, reason: 'answered_recently' }, 'sender already answered in this period');
        continue;
      }
      const reply = composeAutoReply({ from: account.address, to: message.sender, original: fields, vacation, now });
      const result = await this.o.sender.sendAutomatic({ account: account.address, recipient: message.sender, message: reply, origin: 'vacation' });
      if (result.ok) this.o.logger.info({ event: 'vacation.reply', ...log, replyId: result.queueId }, 'vacation response sent');
      else this.o.logger.warn({ event: 'vacation.failed', ...log, code: result.code, reason: result.text }, 'vacation response not sent');
    }
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }
}

/** RFC 8621 §8: on, and the message arrived at or after fromDate and before toDate. */
export function isActive(vacation: VacationRecord, at: Date): boolean {
  if (!vacation.isEnabled) return false;
  if (vacation.fromDate !== null && at.getTime() < vacation.fromDate.getTime()) return false;
  if (vacation.toDate !== null && at.getTime() >= vacation.toDate.getTime()) return false;
  return true;
}
