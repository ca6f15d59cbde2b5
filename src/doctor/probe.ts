/**
 * The round trip of `postamt doctor`: a test message from the domain, DKIM-signed with its active keys as the
 * server signs what it sends, goes from the host's sending address to the MX found in DNS, addressed to a
 * probe address the server files away (delivery/probe-drop.ts); its Authentication-Results must all pass.
 */
import type { ProbeDrop } from '../delivery/probe-drop.ts';
import { PROBE_PREFIX } from '../delivery/probe-drop.ts';
import { signMessage } from '../policy/dkim-sign.ts';
import type { DkimKey, PolicyResolver } from '../policy/types.ts';
import { SmtpConnection } from '../queue/smtp-connection.ts';
import { fail, pass, type DoctorCheck } from './report.ts';
import { isLocalAddress } from './local-address.ts';

export interface ProbeInput {
  domain: string;
  /** Our host name: the HELO name and the authserv-id of the Authentication-Results we look for. */
  hostname: string;
  resolver: PolicyResolver;
  dkimKeys: DkimKey[];
  probes: Pick<ProbeDrop, 'expect' | 'take' | 'remove'>;
  /** Connect here instead of the MX host's first address (checking from inside a NAT). */
  address: string | null;
  /** 25, or queue.port_override as the queue uses it. */
  port: number;
  /**
   * This node's smtp listener, when the MX may lead to another node sharing the store (PostgreSQL): the probe
   * goes to an MX address of this machine if there is one, else here. null: to the MX's first address.
   */
  thisNode?: { address: string; port: number } | null;
  /** The host's sending address, when it is an address of this machine: the probe leaves from it. */
  localAddress: string | null;
  /** How long to wait for the probe to arrive after the MX accepted it. */
  timeoutMs: number;
  connectTimeoutMs: number;
}

export interface AuthResult {
  method: string;
  result: string;
  /** The rest of the result (properties such as header.d=, smtp.mailfrom=). */
  detail: string;
}

function unfoldedFields(header: string, name: string): string[] {
  const unfolded = header.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const prefix = `${name.toLowerCase()}:`;
  return unfolded.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(prefix)).map((l) => l.slice(prefix.length).trim());
}

/** RFC 8601 §2.2: "authserv-id; method=result ptype.property=value; ..." — the results of our authserv-id only. */
export function ourAuthResults(message: string, authservId: string): AuthResult[] | null {
  const fields = unfoldedFields(message, 'Authentication-Results').filter((v) => v.split(';')[0]!.trim().split(/\s+/)[0]!.toLowerCase() === authservId.toLowerCase());
  if (fields.length === 0) return null;
  const out: AuthResult[] = [];
  for (const field of fields) {
    for (const part of field.split(';').slice(1)) {
      const m = /^\s*([a-z0-9-]+)\s*=\s*([a-z]+)\b(.*)$/i.exec(part.replace(/\([^)]*\)/g, ''));
      if (m) out.push({ method: m[1]!.toLowerCase(), result: m[2]!.toLowerCase(), detail: m[3]!.trim() });
    }
  }
  return out;
}

function probeMessage(domain: string, hostname: string, to: string, token: string, now: Date): Buffer {
  return Buffer.from([
    `From: Postamt doctor <postmaster@${domain}>`,
    `To: <${to}>`,
    `Subject: postamt doctor test message ${token.slice(0, 8)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <doctor-${token}@${hostname}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `This message was sent by postamt doctor ${domain} to check that mail from ${domain}`,
    'passes SPF, DKIM and DMARC at its own MX. The server files it away from every mailbox',
    'and the doctor deletes it once it has read its Authentication-Results.',
    '',
  ].join('\r\n'), 'latin1');
}

function fixFor(method: string, domain: string, sendingIp: string | null): string {
  switch (method) {
    case 'spf':
      return `the SPF record of ${domain} must allow the address the server sends from${sendingIp ? ` (${sendingIp})` : ''}: publish ${domain} TXT "v=spf1 mx -all" (or add ip4:/ip6: of that address)`;
    case 'dkim':
      return `publish the record of each active DKIM key exactly as \`postamt dns ${domain}\` prints it (\`postamt dkim list ${domain}\` shows the keys); after a change wait for the record's TTL`;
    case 'dmarc':
      return `DMARC passes when SPF or DKIM passes for ${domain} itself: fix those, and publish _dmarc.${domain} as \`postamt dns ${domain}\` prints it`;
    default:
      return `the ${method} result of the test message must pass: see the detail`;
  }
}

export async function probeChecks(input: ProbeInput): Promise<DoctorCheck[]> {
  const { domain, hostname } = input;
  const subject = `test message from postmaster@${domain}`;
  let mxHost: string;
  try {
    const mx = ((await input.resolver.resolve(domain, 'MX')) as { exchange: string; priority: number }[]).filter((r) => r.exchange !== '' && r.exchange !== '.').sort((a, b) => a.priority - b.priority);
    if (mx.length === 0) return [fail('probe', subject, `${domain} has no MX record to send it to`, 'publish the MX record: postamt dns ' + domain)];
    mxHost = mx[0]!.exchange.toLowerCase().replace(/\.$/, '');
  } catch (err) {
    return [fail('probe', subject, `MX lookup of ${domain} failed: ${(err as Error).message}`, 'publish the MX record: postamt dns ' + domain)];
  }
  let ip = input.address;
  let port = input.port;
  let route = '';
  if (!ip) {
    const a = await Promise.resolve(input.resolver.resolve(mxHost, 'A')).catch(() => [] as string[]);
    const aaaa = (a as string[]).length > 0 ? [] : await Promise.resolve(input.resolver.resolve(mxHost, 'AAAA')).catch(() => [] as string[]);
    const mxIps = [...(a as string[]), ...(aaaa as string[])];
    ip = mxIps[0] ?? null;
    const node = input.thisNode;
    if (ip && node) {
      const local = mxIps.find(isLocalAddress);
      if (local) {
        ip = local;
      } else {
        // The MX's address belongs to another machine (another node, a load balancer): the probe would be filed
        // there, out of this doctor's sight. This node's own listener is probed instead, and the report says so.
        route = ` (this node's smtp listener: ${mxHost} [${ip}] is not an address of this machine and may lead to another node sharing the store; run the doctor there to check that node)`;
        ip = node.address;
        port = node.port;
      }
    }
  }
  if (!ip) return [fail('probe', subject, `the MX host ${mxHost} has no address`, `publish ${mxHost} A (and AAAA)`)];
  const token = input.probes.expect();
  const to = `${PROBE_PREFIX}${token}@${domain}`;
  try {
    const raw = probeMessage(domain, hostname, to, token, new Date());
    // The same signing as outgoing mail: every active key of the domain, relaxed/relaxed, From over-signed.
    const signed = Buffer.concat([await signMessage({ message: raw, domain, keys: input.dkimKeys.filter((k) => k.active) }), raw]);
    const opened = await SmtpConnection.open({
      ip, port, hostname: mxHost, heloName: hostname, tlsMode: 'opportunistic', verifyCertificates: false,
      connectTimeoutMs: input.connectTimeoutMs, ...(input.localAddress ? { localAddress: input.localAddress } : {}),
    });
    if (!opened.ok) return [fail('probe', subject, `${mxHost} [${ip}]:${port}${route}: ${opened.reply.code} ${opened.reply.lines.join(' ')}`, `the MX must accept mail on port ${port}: start the smtp listener and open the port`)];
    const conn = opened.connection;
    let reply;
    try {
      const result = await conn.send({ reversePath: `postmaster@${domain}`, recipients: [{ address: to }], size: signed.length, needs8bit: false }, signed);
      reply = result.recipients[0]?.reply;
    } finally {
      await conn.close().catch(() => undefined);
    }
    if (!reply || reply.code !== 250) {
      const text = reply ? `${reply.code} ${reply.enhancedCode ?? ''} ${reply.lines.join(' ')}`.replace(/\s+/g, ' ') : 'no reply';
      return [fail('probe', subject, `${mxHost} refused it: ${text}`, `the MX of ${domain} must be this server and accept mail from ${domain}: see the reply, and the smtp.refused line in the log`)];
    }
    const deadline = Date.now() + input.timeoutMs;
    let received = input.probes.take(token);
    while (!received && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      received = input.probes.take(token);
    }
    if (!received) return [fail('probe', subject, `${mxHost} accepted it but it did not arrive here within ${input.timeoutMs} ms`, `the MX of ${domain} (${mxHost} [${ip}]) is another server, or another node than this one: point the MX at this server (run the doctor on the node that receives)`)];
    const text = received.toString('latin1');
    const results = ourAuthResults(text, hostname);
    const sendingIp = /client-ip=([0-9a-f.:]+)/i.exec(unfoldedFields(text, 'Received-SPF')[0] ?? '')?.[1] ?? input.localAddress;
    if (!results) return [fail('probe', subject, `it arrived through ${mxHost} without Authentication-Results of ${hostname}`, `its sending address${sendingIp ? ` ${sendingIp}` : ''} is in policy.trusted_networks, which skips the checks: run the doctor from the mail host's public address`)];
    const checks: DoctorCheck[] = [pass('probe', subject, `sent to ${mxHost} [${ip}]:${port}${route}, filed and removed`)];
    for (const method of ['spf', 'dkim', 'dmarc']) {
      let found = results.filter((r) => r.method === method);
      // DMARC uses the MAIL FROM identity's SPF result (RFC 7489 §4.1); the HELO identity's is beside the point.
      if (method === 'spf' && found.some((r) => /smtp\.mailfrom=/.test(r.detail))) found = found.filter((r) => /smtp\.mailfrom=/.test(r.detail));
      const label = `${method.toUpperCase()} of a test message from ${domain}`;
      if (found.length === 0) checks.push(fail(`probe-${method}`, label, 'no result', fixFor(method, domain, sendingIp)));
      else if (found.every((r) => r.result === 'pass')) checks.push(pass(`probe-${method}`, label, found.map((r) => `${r.result} ${r.detail}`.trim()).join(', ')));
      else checks.push(fail(`probe-${method}`, label, found.map((r) => `${method}=${r.result} ${r.detail}`.trim()).join(', '), fixFor(method, domain, sendingIp)));
    }
    // RFC 8617: an ARC result on a message we sent ourselves is "none" or "pass"; "fail" means a broken seal.
    const arc = results.find((r) => r.method === 'arc');
    if (arc && arc.result === 'fail') checks.push(fail('probe-arc', `ARC of a test message from ${domain}`, `arc=fail ${arc.detail}`.trim(), 'an ARC set on the way did not validate: check the forwarding hosts between us and the MX'));
    return checks;
  } finally {
    input.probes.remove(token);
  }
}
