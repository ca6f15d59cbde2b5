/**
 * The TLSA half of `postamt doctor`: our MX host's TLSA records as a DANE sender finds them through the
 * configured validating resolver (the same lookups as outbound DANE), matched against the certificate our
 * SMTP listener serves after STARTTLS, with the record to publish when they do not match.
 */
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { SecureResolver } from '../dns/secure-resolver.ts';
import { daneForHost, mxSecurity } from '../outbound-tls/dane.ts';
import { checkDaneChain } from '../outbound-tls/tls-check.ts';
import { connectPlain, readUntil } from './live-checks.ts';
import { fail, pass, skip, type DoctorCheck } from './report.ts';

export interface TlsaCheckInput {
  domain: string;
  hostname: string;
  secure: SecureResolver | null;
  /** Where our SMTP listener is reached (null: no smtp listener configured). */
  smtp: { address: string; port: number } | null;
  timeoutMs: number;
}

/** The certificate chain (DER, leaf first) our SMTP listener presents after STARTTLS, whoever issued it. */
async function servedChain(address: string, port: number, hostname: string, timeoutMs: number): Promise<Buffer[]> {
  const socket = await connectPlain(address, port, timeoutMs);
  try {
    await readUntil(socket, /^220 .*\r\n/m, timeoutMs);
    socket.write(`EHLO ${hostname}\r\n`);
    await readUntil(socket, /^250 .*\r\n/m, timeoutMs);
    socket.write('STARTTLS\r\n');
    await readUntil(socket, /^220 .*\r\n/m, timeoutMs);
    // DANE does its own matching: the handshake accepts any certificate, as a DANE sender's does.
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket, servername: hostname, rejectUnauthorized: false });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    const chain: Buffer[] = [];
    const seen = new Set<string>();
    for (let cert: tls.DetailedPeerCertificate | undefined = secure.getPeerCertificate(true); cert?.raw && !seen.has(cert.fingerprint256); cert = cert.issuerCertificate) {
      seen.add(cert.fingerprint256);
      chain.push(cert.raw);
    }
    secure.destroy();
    return chain;
  } finally {
    socket.destroy();
  }
}

/** The DANE-EE record a sender would match against this certificate: `3 1 1 <SHA-256 of the key>`. */
export function daneEeRecord(der: Buffer): string {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return `3 1 1 ${createHash('sha256').update(spki).digest('hex')}`;
}

export async function tlsaCheck(input: TlsaCheckInput): Promise<DoctorCheck> {
  const name = `_25._tcp.${input.hostname}`;
  const subject = `TLSA ${name}`;
  if (!input.secure) return skip('tlsa', subject, 'no validating resolver configured (outbound_tls.dane_resolver): DNSSEC and TLSA are not checked');
  const secure = input.secure;
  // RFC 7672 §2.2: what a DANE sender does: the MX RRset, the host's addresses, then its TLSA records.
  const dane = await daneForHost({ secure, mx: await mxSecurity(secure, input.domain), host: input.hostname, port: 25, source: 'mx' });
  if (dane.kind === 'failed') return fail('tlsa', subject, dane.detail, 'DANE senders keep mail for us in their queues: fix the DNSSEC signatures of the zone (a bogus signature looks like this) or check the validating resolver (outbound_tls.dane_resolver)');
  if (dane.kind === 'off') {
    let published = 0;
    try {
      published = (await secure.tlsa(name)).records.length;
    } catch {
      // Nothing more to say than the reason DANE is off.
    }
    if (published === 0) return skip('tlsa', subject, `no DANE: ${dane.reason} (DANE is optional)`);
    return fail('tlsa', subject, `${published} TLSA record(s) published but senders ignore them: ${dane.reason}`, `sign the zone of ${input.domain} and of ${input.hostname} with DNSSEC (MX, A/AAAA and TLSA records), or remove the TLSA records`);
  }
  if (!input.smtp) return skip('tlsa', subject, `${dane.records.length} DNSSEC-validated record(s); no smtp listener to match them against`);
  let chain: Buffer[];
  try {
    chain = await servedChain(input.smtp.address, input.smtp.port, input.hostname, input.timeoutMs);
  } catch (err) {
    return fail('tlsa', subject, `could not get the certificate served after STARTTLS: ${(err as Error).message}`, 'start the smtp listener with TLS and open port 25');
  }
  const wanted = chain[0] ? daneEeRecord(chain[0]) : null;
  const publish = wanted ? `publish ${name}. IN TLSA ${wanted} (the key of the certificate served now; keep the old record until its TTL has passed)` : 'serve a certificate on the smtp listener';
  // RFC 7672 §2.2: validated records that are all unusable leave senders without authentication.
  if (dane.usable.length === 0) return fail('tlsa', subject, `${dane.records.length} DNSSEC-validated record(s), none usable for SMTP (only DANE-TA(2) and DANE-EE(3) with known selector and matching type count)`, publish);
  const result = checkDaneChain(chain, dane.usable, dane.names);
  if (result.ok) return pass('tlsa', subject, `${dane.usable.length} DNSSEC-validated record(s); the certificate served on port ${input.smtp.port} matches`);
  return fail('tlsa', subject, `${result.detail} (DANE senders defer mail for ${input.domain}: ${result.type})`, `${publish}, or serve the certificate the records name`);
}
