/**
 * Opens an SMTP connection for a route: each host in order, each of its addresses in turn, moving on when
 * the connection fails or the greeting is not 220 (RFC 5321 §5.1); reports the last failure otherwise.
 */
import type { Resolver } from '../dns/resolver.ts';
import type { SmtpReply } from '../protocols/smtp/client-reply.ts';
import type { ClientTimeouts, ClientTlsMode } from '../protocols/smtp/client-session.ts';
import { resolveHostAddresses, type Route, type RouteHost, type RoutingOptions } from './route.ts';
import { SmtpConnection, type SmtpConnectionOptions } from './smtp-connection.ts';

export interface ConnectRouteOptions {
  resolver: Resolver;
  heloName: string;
  routing?: Pick<RoutingOptions, 'ipv4' | 'ipv6'>;
  /** TLS for MX hosts found in DNS (default 'opportunistic'); smarthosts and routes carry their own. */
  mxTlsMode?: ClientTlsMode;
  allowPlainFallback?: boolean;
  ca?: SmtpConnectionOptions['ca'];
  connectTimeoutMs?: number;
  timeouts?: Partial<ClientTimeouts>;
  allowPlaintextAuth?: boolean;
  /** Limits the addresses tried per attempt (Postfix smtp_mx_address_limit). */
  maxAddresses?: number;
}

export type ConnectRouteResult =
  | { ok: true; connection: SmtpConnection; host: RouteHost }
  | { ok: false; reply: SmtpReply; host: string | null; ip: string | null; permanent: boolean };

export async function connectRoute(route: Extract<Route, { kind: 'hosts' }>, options: ConnectRouteOptions): Promise<ConnectRouteResult> {
  let last: { reply: SmtpReply; host: string | null; ip: string | null } | null = null;
  let allPermanent = true;
  let tried = 0;
  const maxAddresses = options.maxAddresses ?? 10;
  for (const host of route.hosts) {
    const resolved = await resolveHostAddresses(host.host, options.resolver, options.routing);
    if (!resolved.ok) {
      last = { reply: resolved.reply, host: host.host, ip: null };
      if (resolved.reply.code < 500) allPermanent = false;
      continue;
    }
    for (const ip of resolved.addresses) {
      if (tried++ >= maxAddresses) break;
      const tlsMode: ClientTlsMode =
        host.tls === 'implicit' || host.tls === 'none' ? 'none' : host.tls === 'starttls' ? 'required' : host.source === 'mx' || host.source === 'implicit-mx' ? options.mxTlsMode ?? 'opportunistic' : 'opportunistic';
      const opened = await SmtpConnection.open({
        ip,
        port: host.port,
        hostname: host.host,
        heloName: options.heloName,
        tlsMode,
        implicitTls: host.tls === 'implicit',
        verifyCertificates: host.verifyCertificates,
        allowPlainFallback: options.allowPlainFallback,
        ca: options.ca,
        auth: host.auth,
        allowPlaintextAuth: options.allowPlaintextAuth,
        connectTimeoutMs: options.connectTimeoutMs,
        timeouts: options.timeouts,
      });
      if (opened.ok) return { ok: true, connection: opened.connection, host };
      last = { reply: opened.reply, host: host.host, ip };
      // Connection failures and 4xx are temporary; only a 5xx from every host bounces.
      if (opened.reply.code < 500) allPermanent = false;
    }
  }
  if (!last) return { ok: false, reply: { code: 451, enhancedCode: '4.4.4', lines: ['no usable host for this destination'], local: true }, host: null, ip: null, permanent: false };
  return { ok: false, ...last, permanent: allPermanent };
}
