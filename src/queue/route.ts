/**
 * Where mail for a domain goes (RFC 5321 §5.1): per-domain routes and the relayhost first, then MX records in
 * preference order (random among equal preference), the implicit MX (A/AAAA) and the null MX (RFC 7505).
 * Resolves host names to IPv6 and IPv4 addresses. Pure over the `Resolver` interface.
 */
import { isIP } from 'node:net';
import { DnsError, normalizeDnsName, type Resolver } from '../dns/resolver.ts';
import { makeReply, type SmtpReply } from '../protocols/smtp/client-reply.ts';

export type TransportTls = 'none' | 'opportunistic' | 'starttls' | 'implicit';

export interface SmarthostConfig {
  host: string;
  port?: number;
  /** 'starttls' requires STARTTLS; 'opportunistic' uses it when offered; 'implicit' is TLS from the start (RFC 8314). */
  tls?: TransportTls;
  auth?: { username: string; password: string } | null;
  verifyCertificates?: boolean;
}

export interface RoutingOptions {
  relayhost?: SmarthostConfig | null;
  /** Like Postfix transport_maps: 'example.org' (exact) or '.example.org' (subdomains) → 'host:port' or a smarthost. */
  routes?: Record<string, SmarthostConfig | string>;
  /** Deliver to this port on whatever the MX resolves to (tests). */
  portOverride?: number | null;
  /** Our own host names: MX records pointing at us (and everything less preferred) are dropped (RFC 5321 §5.1). */
  localHostnames?: string[];
  ipv4?: boolean;
  ipv6?: boolean;
  /** Random source in [0,1) for the equal-preference shuffle (tests inject one). */
  random?: () => number;
}

export interface RouteHost {
  host: string;
  preference: number;
  port: number;
  tls: TransportTls;
  auth: { username: string; password: string } | null;
  verifyCertificates: boolean;
  source: 'mx' | 'implicit-mx' | 'smarthost' | 'route' | 'literal';
}

export type Route =
  /** `destination` groups connections for concurrency limits and per-destination backoff. */
  | { kind: 'hosts'; destination: string; hosts: RouteHost[] }
  | { kind: 'fail'; destination: string; reply: SmtpReply };

function smarthostRoute(destination: string, cfg: SmarthostConfig, source: 'smarthost' | 'route', options: RoutingOptions): Route {
  const host = normalizeDnsName(cfg.host.replace(/^\[|\]$/g, ''));
  const tls = cfg.tls ?? 'opportunistic';
  return {
    kind: 'hosts',
    destination,
    hosts: [{ host, preference: 0, port: options.portOverride ?? cfg.port ?? (tls === 'implicit' ? 465 : 25), tls, auth: cfg.auth ?? null, verifyCertificates: cfg.verifyCertificates ?? false, source }],
  };
}

function parseRouteTarget(value: SmarthostConfig | string): SmarthostConfig {
  if (typeof value !== 'string') return value;
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(value.trim());
  return { host: m?.[1] ?? value, port: m?.[2] ? Number(m[2]) : undefined };
}

function findRoute(domain: string, routes: RoutingOptions['routes']): SmarthostConfig | null {
  if (!routes) return null;
  const lower: Record<string, SmarthostConfig | string> = {};
  for (const [k, v] of Object.entries(routes)) lower[k.toLowerCase()] = v;
  if (lower[domain]) return parseRouteTarget(lower[domain]!);
  const labels = domain.split('.');
  for (let i = 1; i < labels.length; i++) {
    const parent = '.' + labels.slice(i).join('.');
    if (lower[parent]) return parseRouteTarget(lower[parent]!);
  }
  return lower['*'] ? parseRouteTarget(lower['*']!) : null;
}

/** Shuffles records of equal preference (RFC 5321 §5.1: "randomize them to spread the load"). */
function orderMx(records: { exchange: string; priority: number }[], random: () => number): { exchange: string; priority: number }[] {
  const keyed = records.map((r) => ({ r, k: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return keyed.map((x) => x.r);
}

export async function resolveRoute(rawDomain: string, resolver: Resolver, options: RoutingOptions = {}): Promise<Route> {
  const domain = normalizeDnsName(rawDomain);
  const random = options.random ?? Math.random;
  const port = options.portOverride ?? 25;
  const routed = findRoute(domain, options.routes);
  if (routed) {
    const cfg = parseRouteTarget(routed);
    return smarthostRoute(`route:${cfg.host}:${cfg.port ?? 25}`, cfg, 'route', options);
  }
  if (options.relayhost) return smarthostRoute(`relay:${options.relayhost.host}:${options.relayhost.port ?? 25}`, options.relayhost, 'smarthost', options);

  // RFC 5321 §4.1.3: an address literal is delivered to that address, no MX lookup.
  const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) {
    if (!isIP(literal[1]!)) return { kind: 'fail', destination: domain, reply: makeReply(553, '5.1.3', `bad address literal ${domain}`, { local: true }) };
    return { kind: 'hosts', destination: domain, hosts: [{ host: literal[1]!, preference: 0, port, tls: 'opportunistic', auth: null, verifyCertificates: false, source: 'literal' }] };
  }

  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.mx(domain);
  } catch (err) {
    return { kind: 'fail', destination: domain, reply: dnsFailureReply(err, domain, 'MX') };
  }
  const mxHost = (host: string, preference: number, source: RouteHost['source']): RouteHost => ({ host, preference, port, tls: 'opportunistic', auth: null, verifyCertificates: false, source });
  // RFC 7505 §3: a single MX "." means the domain accepts no mail: fail at once, do not fall back to A/AAAA.
  if (records.some((r) => r.exchange === '' || r.exchange === '.')) {
    return { kind: 'fail', destination: domain, reply: makeReply(556, '5.1.10', `${domain} does not accept mail (null MX)`, { local: true }) };
  }
  // RFC 5321 §5.1: no MX records: the domain itself is the implicit MX, preference 0.
  if (records.length === 0) return { kind: 'hosts', destination: domain, hosts: [mxHost(domain, 0, 'implicit-mx')] };

  let ordered = orderMx(records, random);
  const local = new Set((options.localHostnames ?? []).map(normalizeDnsName));
  const self = ordered.find((r) => local.has(r.exchange));
  if (self) {
    // RFC 5321 §5.1: if we are an MX, only MX hosts more preferred than us are candidates.
    ordered = ordered.filter((r) => r.priority < self.priority);
    if (ordered.length === 0) return { kind: 'fail', destination: domain, reply: makeReply(554, '5.4.6', `mail for ${domain} loops back to myself`, { local: true }) };
  }
  return { kind: 'hosts', destination: domain, hosts: ordered.map((r) => mxHost(r.exchange, r.priority, 'mx')) };
}

export function dnsFailureReply(err: unknown, name: string, rrtype: string): SmtpReply {
  if (err instanceof DnsError && err.isPermanent) {
    return makeReply(550, '5.1.2', `${name}: domain not found (${rrtype} NXDOMAIN)`, { local: true });
  }
  // RFC 3463: X.4.3 directory server failure: temporary.
  return makeReply(451, '4.4.3', `${name}: DNS lookup failed (${rrtype}: ${err instanceof DnsError ? err.kind : 'error'})`, { local: true });
}

export type AddressResult = { ok: true; addresses: string[] } | { ok: false; reply: SmtpReply };

/** A and AAAA for a host (IPv6 first, then IPv4); NODATA for both is a permanent failure for that host. */
export async function resolveHostAddresses(host: string, resolver: Resolver, options: Pick<RoutingOptions, 'ipv4' | 'ipv6'> = {}): Promise<AddressResult> {
  if (isIP(host)) return { ok: true, addresses: [host] };
  const lookups: Promise<string[]>[] = [];
  if (options.ipv6 ?? true) lookups.push(resolver.aaaa(host));
  if (options.ipv4 ?? true) lookups.push(resolver.a(host));
  const settled = await Promise.allSettled(lookups);
  const addresses = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  if (addresses.length > 0) return { ok: true, addresses };
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof DnsError && s.reason.isPermanent));
  if (failure) return { ok: false, reply: dnsFailureReply(failure.reason, host, 'A/AAAA') };
  return { ok: false, reply: makeReply(550, '5.4.4', `${host}: no A or AAAA record`, { local: true }) };
}
