/**
 * `postamt doctor DOMAIN` as a service: the DNS checks, TLSA, the listeners reached on the mail host's public
 * address, then a test message through our own MX, in one report whose checks each say what was found and how
 * to fix it.
 */
import type { Config } from '../config/schema.ts';
import { mtaStsPolicyFromConfig } from '../policy/mta-sts-policy.ts';
import type { ServicePorts } from '../policy/dns-records.ts';
import type { DkimKey, PolicyResolver } from '../policy/types.ts';
import type { SecureResolver } from '../dns/secure-resolver.ts';
import { dnsChecks } from './dns-checks.ts';
import { liveChecks, type PortRole } from './live-checks.ts';
import { report, skip, type DoctorReport } from './report.ts';
import { tlsaCheck } from './tlsa-check.ts';
import { probeChecks } from './probe.ts';
import { isLocalAddress } from './local-address.ts';
import type { ProbeDrop } from '../delivery/probe-drop.ts';

export interface DoctorInput {
  domain: string;
  config: Config;
  resolver: PolicyResolver;
  dkimKeys: DkimKey[];
  /** Extra trust anchors for our certificates (PEM). */
  ca: string | null;
  /** Connect here instead of the host name's first address (a server behind NAT checked from inside). */
  address?: string;
  /** The validating resolver DANE uses (outbound_tls.dane_resolver); null: TLSA is not checked. */
  secure: SecureResolver | null;
  /** Where the server files the test message (data_dir/doctor-probes); null: no test message is sent. */
  probes: Pick<ProbeDrop, 'expect' | 'take' | 'remove'> | null;
  /** How long to wait for the test message to arrive once the MX accepted it. */
  probeTimeoutMs?: number;
}

/**
 * With a shared PostgreSQL store several nodes may answer for the MX, and the test message is filed in the
 * data_dir of the node that received it: the doctor sends it to this node's own smtp listener unless an MX
 * address is one of this machine's. On SQLite (one node) the MX is always this server: null.
 */
function thisNode(config: Config, serverIps: string[]): { address: string; port: number } | null {
  const smtp = config.listen.smtp;
  if (config.storage.backend !== 'postgres' || !smtp) return null;
  const wildcard = smtp.host === '' || smtp.host === '0.0.0.0' || smtp.host === '::';
  const address = wildcard ? (serverIps.find(isLocalAddress) ?? '127.0.0.1') : smtp.host;
  return { address, port: smtp.port };
}

const ROLES: PortRole[] = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https'];

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const { config, domain } = input;
  const l = config.listen;
  const port = (hp: { port: number } | null) => (hp ? hp.port : null);
  const servicePorts: ServicePorts = { submission: port(l.submission), submissions: port(l.submissions), imap: port(l.imap), imaps: port(l.imaps), pop3: port(l.pop3), pop3s: port(l.pop3s), https: port(l.https) };
  const mtaSts = mtaStsPolicyFromConfig(config);
  const dns = await dnsChecks({
    domain, hostname: config.hostname, resolver: input.resolver, dkimKeys: input.dkimKeys, ports: servicePorts, mtaSts,
    dnsblZones: config.policy.dnsblZones,
    reportAddresses: { tlsrpt: config.reports.tlsrptAddress, dmarc: config.reports.dmarcAddress },
  });
  const address = input.address ?? dns.serverIps[0];
  const timeoutMs = config.dns.timeout * 2;
  const tlsa = await tlsaCheck({ domain, hostname: config.hostname, secure: input.secure, smtp: address && l.smtp ? { address, port: l.smtp.port } : null, timeoutMs });
  if (!address) return report(domain, [...dns.checks, tlsa, skip('port', config.hostname, 'the host name has no address to connect to')]);
  const ports: Partial<Record<PortRole, number>> = {};
  for (const role of ROLES) if (l[role]) ports[role] = l[role]!.port;
  const live = await liveChecks({
    domain, hostname: config.hostname, address, ports,
    httpsNames: l.https ? [...(mtaSts ? [`mta-sts.${domain}`] : []), `autoconfig.${domain}`] : [],
    mtaSts, ca: input.ca, timeoutMs, minValidityMs: 14 * 86_400_000,
  });
  const node = input.address ? null : thisNode(config, dns.serverIps);
  const probe = input.probes
    ? await probeChecks({
        domain, hostname: config.hostname, resolver: input.resolver, dkimKeys: input.dkimKeys, probes: input.probes,
        address: input.address ?? null, port: config.queue.portOverride || 25, thisNode: node,
        localAddress: dns.serverIps.find(isLocalAddress) ?? null,
        timeoutMs: input.probeTimeoutMs ?? 30_000, connectTimeoutMs: timeoutMs,
      })
    : [skip('probe', `test message from postmaster@${domain}`, 'not sent (--no-probe)')];
  return report(domain, [...dns.checks, tlsa, ...live, ...probe]);
}
