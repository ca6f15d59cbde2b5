/**
 * Makes the SMTP engine for one connection (MX or submission role) from the running services.
 */
import { newId } from '../core/ids.ts';
import type { EngineContext } from '../protocols/engine.ts';
import type { SmtpRole } from '../protocols/smtp/hooks.ts';
import { SmtpServerSession } from '../protocols/smtp/server-session.ts';
import type { Services } from './services.ts';

export function createSmtpEngine(options: { role: SmtpRole; context: EngineContext; services: Services }): SmtpServerSession {
  const { role, context, services } = options;
  const { config } = services;
  const hooks = role === 'mx' ? services.smtpHooks.mx : services.smtpHooks.submission;
  return new SmtpServerSession({
    context,
    hostname: config.hostname,
    role,
    hooks,
    starttlsAvailable: true,
    newTransactionId: newId,
    limits: {
      commandLineBytes: config.limits.commandLineLength,
      textLineBytes: config.limits.lineLength,
      maxMessageBytes: config.limits.messageSize,
      maxRecipients: config.limits.recipients,
      maxErrors: config.limits.maxErrors,
      commandTimeoutMs: config.limits.smtpCommandTimeout,
      dataTimeoutMs: config.limits.smtpDataTimeout,
      loginTimeoutMs: config.limits.loginTimeout,
    },
  });
}
