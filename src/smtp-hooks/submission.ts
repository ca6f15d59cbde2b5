/**
 * The SMTP hooks of the submission role: a thin front end of the sending service (submission/service.ts),
 * which decides at MAIL (sender rights), at RCPT (rate limits, local recipients that reach no mailbox) and
 * at the end of data (header senders, RFC 6409 §8 fixes, DKIM, local copies and the queue).
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { InflightBudget } from '../delivery/inflight-budget.ts';
import type { LoginWatcher, SaslAuthenticator } from '../protocols/sasl/types.ts';
import type { SmtpServerHooks, Verdict } from '../protocols/smtp/hooks.ts';
import type { SubmissionService, SubmitRefusal } from '../submission/service.ts';
import { AcceptingSink, OK, recipientAddress, refuse, withSharedHooks, TransactionNotes, type SmtpObservers } from './shared.ts';

export interface SubmissionHookServices extends SmtpObservers {
  config: Config;
  logger: Logger;
  submission: SubmissionService;
  auth: SaslAuthenticator;
  logins: LoginWatcher;
  inflight: InflightBudget;
}

function verdictOf(refusal: SubmitRefusal | null): Verdict {
  return refusal ? refuse(refusal.code, refusal.enhancedCode, refusal.text, refusal.rule) : OK;
}

export function createSubmissionHooks(services: SubmissionHookServices): SmtpServerHooks {
  const { config, logger, submission } = services;
  const notes = new TransactionNotes();
  return withSharedHooks('submission', {
    sasl: services.auth,
    logins: services.logins,

    async checkMailFrom(info, reversePath) {
      return verdictOf(await submission.checkSender(info.identity, reversePath?.address ?? ''));
    },

    async checkRcptTo(info, forwardPath) {
      return verdictOf(await submission.addRecipient(info.identity, info.transactionId, recipientAddress(forwardPath, config.hostname)));
    },

    endTransaction(_info, end) {
      submission.settle(end.transactionId, end.accepted);
    },

    openSink(envelope) {
      return new AcceptingSink({
        envelope,
        buffer: submission.openMessage(),
        context: { logger, limits: config.limits, notes },
      }, async (buffer) => {
        const result = await submission.commitMessage({
          identity: envelope.identity,
          transactionId: envelope.transactionId,
          envelope: {
            sender: envelope.reversePath?.address ?? '',
            recipients: envelope.recipients.map((r) => ({ address: r.forwardPath.address, orcpt: r.params.orcpt, notify: r.params.notify })),
            envid: envelope.mailParams.envid,
            ret: envelope.mailParams.ret,
          },
          origin: { remoteAddress: envelope.remoteAddress, helo: envelope.helo, protocol: envelope.protocol, tls: envelope.tls },
          message: buffer,
        });
        if (!result.ok) return verdictOf(result);
        notes.delivered(envelope.transactionId, { delivered: result.delivered, queued: result.queued, folder: 'inbox' });
        return { ok: true, text: result.text };
      });
    },
  }, { logger, config, inflight: services.inflight, notes, metrics: services.metrics, trace: services.trace });
}
