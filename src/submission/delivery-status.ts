/**
 * The queue's results as the delivery status of JMAP submissions (RFC 8621 §7 deliveryStatus): each
 * recipient's outcome of a message sent through the sending service (queue origin "submission") is written
 * to the submission that carries it, if any, with the SMTP reply; results of one attempt are written together.
 */
import type { Logger } from '../core/log.ts';
import type { OutcomeObserver } from '../queue/outcomes.ts';
import type { QueueRecipientState, SubmissionDeliveryStatus, SubmissionStore } from '../store/types.ts';

/** RFC 8621 §7 delivered: queued while the queue still tries, yes once delivered or relayed, no once it failed for good. */
function deliveredOf(state: QueueRecipientState): SubmissionDeliveryStatus['delivered'] {
  return state === 'delivered' ? 'yes' : state === 'bounced' ? 'no' : 'queued';
}

export function submissionStatusObserver(deps: { store: Pick<SubmissionStore, 'recordSubmissionDelivery'>; logger: Logger }): Pick<OutcomeObserver, 'outcome'> {
  const pending = new Map<string, Record<string, SubmissionDeliveryStatus>>();
  const flush = (): void => {
    const batch = [...pending];
    pending.clear();
    for (const [queueId, statuses] of batch) {
      deps.store.recordSubmissionDelivery(queueId, statuses)
        .catch((err: unknown) => deps.logger.warn({ event: 'submission.status_failed', queueId, err }, 'could not record the delivery status of a submission'));
    }
  };
  return {
    outcome(message, o, result) {
      // Only mail a user sent: bounces, DSNs, forwards and vacation replies have no submission.
      if (message.origin !== 'submission') return;
      if (pending.size === 0) setImmediate(flush);
      const statuses = pending.get(message.id) ?? {};
      statuses[o.recipient.address] = { smtpReply: result.reply, delivered: deliveredOf(result.state), displayed: 'unknown' };
      pending.set(message.id, statuses);
    },
  };
}
