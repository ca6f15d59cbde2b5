/**
 * Makes the POP3 engine for one connection from the running services.
 */
import type { EngineContext } from '../protocols/engine.ts';
import { Pop3Session } from '../protocols/pop3/session.ts';
import type { Services } from './services.ts';

export function createPop3Engine(options: { context: EngineContext; services: Services }): Pop3Session {
  const { context, services } = options;
  const { config } = services;
  return new Pop3Session({
    context,
    hostname: config.hostname,
    backend: services.pop3,
    sasl: services.auth,
    starttlsAvailable: true,
    allowPlaintextAuth: services.allowPlaintextAuth(context.remoteAddress),
    limits: { maxErrors: config.limits.maxErrors },
    idleTimeoutMs: config.limits.pop3IdleTimeout,
    loginTimeoutMs: config.limits.loginTimeout,
    logger: services.logger,
    logins: services.logins,
  });
}
