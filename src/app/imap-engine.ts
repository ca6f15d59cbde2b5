/**
 * Makes the IMAP engine for one connection from the running services.
 */
import type { EngineContext } from '../protocols/engine.ts';
import { ImapSession } from '../protocols/imap/session.ts';
import type { Services } from './services.ts';

export function createImapEngine(options: { context: EngineContext; services: Services }): ImapSession {
  const { context, services } = options;
  const { config } = services;
  return new ImapSession({
    context,
    hostname: config.hostname,
    backend: services.imap,
    sasl: services.auth,
    starttlsAvailable: true,
    allowPlaintextAuth: services.allowPlaintextAuth(context.remoteAddress),
    limits: { appendLimit: config.limits.imapLiteralSize, maxLineBytes: config.limits.imapCommandSize, idleTimeoutMs: config.limits.imapIdleTimeout,
      // Before login the wait is limits.login_timeout, or the idle timeout when that is shorter.
      preAuthTimeoutMs: Math.min(config.limits.loginTimeout, config.limits.imapIdleTimeout),
      maxMailboxes: config.limits.mailboxesPerAccount, maxMailboxLevels: config.limits.mailboxDepth,
      maxAppendMessages: config.limits.imapAppendMessages,
      maxMetadataEntries: config.limits.imapMetadataEntries, maxMetadataValueBytes: config.limits.imapMetadataSize,
      maxNotifyPending: config.limits.imapNotifyPending,
      preAuthLiteralBytes: config.limits.imapPreauthLiteralSize,
      mime: { maxDepth: config.limits.mimeDepth, maxParameters: config.limits.mimeParameters, maxHeaderBytes: config.limits.headerSize } },
    inflight: services.inflight,
    logger: services.logger,
    logins: services.logins,
    commandTimed: services.metrics.imapCommand.bind(services.metrics),
  });
}
