/**
 * Opens an SMTP connection for a route: each host in order, each of its addresses in turn, moving on when
 * the connection fails or the greeting is not 220 (RFC 5321 §5.1); reports the last failure otherwise.
 */
import type { Resolver } from '../dns/resolver.ts';
import type { TlsAttempt, TlsAttemptRecorder } from '../outbound-tls/attempt.ts';
import type { DomainTls, HostPlan, OutboundTlsPolicy } from '../outbound-tls/policy.ts';
import type { TlsResultType } from '../outbound-tls/tls-check.ts';
import type { SmtpReply } from '../protocols/smtp/client-reply.ts';
import type { ClientTimeouts, ClientTlsMode } from '../protocols/smtp/client-session.ts';
import { resolveHostAddresses, type Route, type RouteHost, type RoutingOptions } from './route.ts';
import { makeReply } from '../protocols/smtp/client-reply.ts';
import { SmtpConnection, type SmtpConnectionOptions } from './smtp-connection.ts';
import type { DeliveryThreads, ThreadConnection } from './delivery-threads.ts';

/** A connection opened in this thread, or on a delivery thread. */
export type RouteConnection = SmtpConnection | ThreadConnection;

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
  /** DANE and MTA-STS for hosts found by MX lookup (smarthosts and routes keep their own TLS settings). */
  outboundTls?: { policy: OutboundTlsPolicy; domain: DomainTls } | null;
  /** Where every TLS negotiation with an MX host is counted for TLS-RPT. */
  tlsReport?: TlsAttemptRecorder | null;
  /**
   * Delivery threads to open connections on; a connection whose certificate a DANE or MTA-STS policy checks
   * stays in this thread (the check runs on the socket).
   */
  threads?: DeliveryThreads | null;
}

/** What TLS-RPT calls a connection that failed at `stage` under a policy. */
function failureType(stage: string): TlsResultType {
  return stage === 'starttls' ? 'starttls-not-supported' : 'validation-failure';
}

export type ConnectRouteResult =
  | { ok: true; connection: RouteConnection; host: RouteHost }
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
    const fromMx = host.source === 'mx' || host.source === 'implicit-mx';
    const plan: HostPlan | null = fromMx && options.outboundTls ? await options.outboundTls.policy.planHost(options.outboundTls.domain, host.host, host.port, host.source === 'implicit-mx' ? 'implicit-mx' : 'mx') : null;
    const report = (result: TlsResultType, ip: string | null, detail?: string): void => {
      if (!plan || !options.tlsReport) return;
      const attempt: TlsAttempt = { at: Date.now(), policy: plan.policy, result, mx: host.host, ip, ...(detail ? { detail } : {}) };
      options.tlsReport.record(attempt);
    };
    if (plan?.refuse) {
      // RFC 8461 §4.2 / RFC 7672 §2.2: a host the policy does not allow gets nothing; the mail waits (4.7.5).
      report(plan.refuse.type, null, plan.refuse.detail);
      last = { reply: makeReply(451, '4.7.5', `${host.host}: ${plan.refuse.detail}`, { local: true }), host: host.host, ip: null };
      allPermanent = false;
      continue;
    }
    for (const ip of resolved.addresses) {
      if (tried++ >= maxAddresses) break;
      const tlsMode: ClientTlsMode = plan?.tlsMode === 'required'
        ? 'required'
        : host.tls === 'implicit' || host.tls === 'none' ? 'none' : host.tls === 'starttls' ? 'required' : fromMx ? options.mxTlsMode ?? 'opportunistic' : 'opportunistic';
      let checked: { type: TlsResultType; detail: string } | null = null;
      const tlsCheck = plan?.check
        ? (socket: Parameters<NonNullable<HostPlan['check']>>[0]): string | null => {
            const result = plan.check!(socket);
            if (result.ok) return null;
            checked = { type: result.type, detail: result.detail };
            return plan.enforce ? result.detail : null;
          }
        : null;
      const connectionOptions = {
        ip,
        port: host.port,
        hostname: host.host,
        heloName: options.heloName,
        tlsMode,
        implicitTls: host.tls === 'implicit',
        verifyCertificates: plan ? false : host.verifyCertificates,
        // RFC 7672 §2.2, RFC 8461 §4.2: a required TLS that fails is never retried in plain text.
        allowPlainFallback: plan?.enforce ? false : options.allowPlainFallback,
        ca: plan?.check ? options.outboundTls!.policy.trust.ca : options.ca,
        auth: host.auth,
        allowPlaintextAuth: options.allowPlaintextAuth,
        connectTimeoutMs: options.connectTimeoutMs,
        timeouts: options.timeouts,
      };
      // A session whose TLS a policy checks stays here (the check runs on the socket); so does one when no
      // thread loaded in time.
      const onThread = !tlsCheck && options.threads ? await options.threads.whenReady() : false;
      const opened = onThread ? await options.threads!.open(connectionOptions) : await SmtpConnection.open({ ...connectionOptions, tlsCheck });
      const failed = checked as { type: TlsResultType; detail: string } | null;
      if (opened.ok) {
        if (failed) report(failed.type, ip, failed.detail);
        else if (opened.connection.tlsProtocol === null) report('starttls-not-supported', ip, 'the peer did not offer STARTTLS');
        else if (plan?.note) report(plan.note.type, ip, plan.note.detail);
        else report('success', ip);
        return { ok: true, connection: opened.connection, host };
      }
      if (opened.connected) {
        if (failed) report(failed.type, ip, failed.detail);
        else if (opened.stage === 'starttls' || opened.stage === 'tls-handshake') report(failureType(opened.stage), ip, opened.reply.lines.join(' '));
      }
      last = { reply: opened.reply, host: host.host, ip };
      // Connection failures and 4xx are temporary; only a 5xx from every host bounces.
      if (opened.reply.code < 500) allPermanent = false;
    }
  }
  if (!last) return { ok: false, reply: { code: 451, enhancedCode: '4.4.4', lines: ['no usable host for this destination'], local: true }, host: null, ip: null, permanent: false };
  return { ok: false, ...last, permanent: allPermanent };
}
