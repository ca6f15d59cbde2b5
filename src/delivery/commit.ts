/**
 * The one place a received message becomes durable and may be acknowledged: the commit goes ahead only
 * when every accepted recipient has a mailbox copy or a queue entry in the plan, and its result is checked
 * against the plan. Anything else is refused (the caller answers 4xx), logged with who and why.
 */
import { StorageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { ExpansionProblem } from './recipients.ts';
import type { CommitResult, DeliveryPlan, DeliveryTransaction, TraceEventInput } from '../store/types.ts';

/** An accepted recipient the plan gives neither a mailbox copy nor a queue entry, and why. */
export interface UncoveredRecipient {
  address: string;
  reason: ExpansionProblem | 'unknown-user' | 'not-local' | 'no-mailbox';
}

export interface PlannedDelivery extends Pick<DeliveryPlan, 'mailboxes' | 'queue'> {
  accountIds: number[];
  /** Where each mailbox copy goes, for log lines (`alice@example.org/INBOX`), in the order of `mailboxes`. */
  labels: string[];
  /** Must be empty for the message to be acknowledged (checked by commitDelivery). */
  uncovered: UncoveredRecipient[];
  /** Alias targets in our domains that name nobody: the recipient is covered by its other targets (logged). */
  deadTargets: { recipient: string; targets: string[] }[];
}

export type CommitOutcome =
  | { ok: true; result: CommitResult }
  | { ok: false; uncovered: UncoveredRecipient[]; text: string };

export interface CommitDeliveryInput {
  tx: DeliveryTransaction;
  plan: PlannedDelivery;
  localHeader: Buffer;
  traceHeader: Buffer;
  logger: Logger;
  /** For the log: the transaction / queue id, the role or origin, the envelope sender. */
  queueId: string;
  origin: string;
  sender: string;
  /** Message trace events stored in the same transaction as the message (none when the trace is off). */
  trace?: TraceEventInput[] | null;
  /** Told once the message is durable, with the time the commit took (metrics). */
  onAccepted?: (commitMs: number) => void;
}

export async function commitDelivery(input: CommitDeliveryInput): Promise<CommitOutcome> {
  const { tx, plan, logger } = input;
  const where = { queueId: input.queueId, origin: input.origin, sender: input.sender };
  const hasQueue = !!plan.queue && plan.queue.recipients.length > 0;
  // Never acknowledge a recipient whose message would be stored nowhere (docs/reliability.md, rule 1).
  if (plan.uncovered.length > 0 || (plan.mailboxes.length === 0 && !hasQueue)) {
    tx.abort();
    const text = plan.uncovered.length > 0 ? plan.uncovered.map((u) => `<${u.address}>: ${u.reason}`).join(', ') : 'nothing to store';
    logger.warn({ event: 'delivery.refused', ...where, recipients: plan.uncovered.map((u) => u.address), reasons: plan.uncovered.map((u) => u.reason) }, `not acknowledged: ${text}`);
    return { ok: false, uncovered: plan.uncovered, text };
  }
  const started = input.onAccepted ? performance.now() : 0;
  const result = await tx.commit({ localHeader: input.localHeader, traceHeader: input.traceHeader, mailboxes: plan.mailboxes, queue: plan.queue, trace: input.trace ?? null });
  // The store must have written what was planned; if not (a fault), the sender retries: a duplicate is
  // allowed by the contract, a lost recipient is not.
  if (result.messages.length !== plan.mailboxes.length || (hasQueue && !result.queueId)) {
    const text = `stored ${result.messages.length} of ${plan.mailboxes.length} mailbox copies, queue entry ${result.queueId ?? 'missing'}`;
    logger.error({ event: 'delivery.incomplete', ...where, planned: plan.mailboxes.length, stored: result.messages.length, queued: result.queueId }, text);
    return { ok: false, uncovered: [], text };
  }
  input.onAccepted?.(performance.now() - started);
  for (const d of plan.deadTargets) {
    logger.warn({ event: 'delivery.dead_target', ...where, recipient: d.recipient, targets: d.targets }, 'alias targets that name nobody got no copy');
  }
  return { ok: true, result };
}

/** A reply with the name of the rule that decided it (for the log, never sent). */
export interface RuledReply {
  code: number;
  enhancedCode: string;
  text: string;
  rule: string;
}

/**
 * A recipient accepted earlier that now has no mailbox and no queue entry (the aliases or accounts changed
 * since, or a fault): nothing is stored and the client tries again later, when RCPT gives the final answer.
 */
export function uncoveredReply(): RuledReply {
  return { code: 451, enhancedCode: '4.3.0', text: 'Requested action aborted: a recipient cannot be delivered now, try again later', rule: 'uncovered_recipient' };
}

/** Our own fault while storing: temporary, never 5xx (docs/reliability.md, rule 3). */
export function commitFailureReply(err: unknown): RuledReply {
  return { code: 451, enhancedCode: '4.3.0', text: err instanceof StorageError ? 'Temporary storage failure, try again later' : 'Local error in processing, try again later', rule: 'local_error' };
}
