/**
 * The queue's results as message trace events and metrics: each delivery attempt (delivered, deferred,
 * bounced, with the MX, its IP, TLS and reply), suppressed recipients, expiry, and DSNs sent.
 */
import type { Metrics } from '../metrics/metrics.ts';
import type { OutcomeObserver } from '../queue/outcomes.ts';
import { dsnEvent } from './events.ts';
import type { TraceSink } from './recorder.ts';

export function traceObserver(deps: { trace: TraceSink; metrics: Pick<Metrics, 'deliveryResult'> | null }): OutcomeObserver {
  const { trace, metrics } = deps;
  return {
    outcome(message, o, result) {
      const state = result.state === 'delivered' || result.state === 'deferred' ? result.state : 'bounced';
      metrics?.deliveryResult(state, result.at.getTime() - message.createdAt.getTime());
      if (!trace.enabled) return;
      trace.record({
        at: result.at, queueId: message.id, event: o.cause ?? state, result: state, reason: o.cause ?? null, sender: message.sender, recipients: [o.recipient.address],
        data: { attempt: result.attempt, mx: o.remoteMta ?? null, ip: o.ip ?? null, tls: o.tls ?? null, reply: result.reply, local: o.local ?? false },
      });
    },
    dsn(message, dsn) {
      if (!trace.enabled) return;
      trace.record(dsnEvent(message, dsn));
    },
  };
}
