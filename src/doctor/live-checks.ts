/**
 * The network half of `postamt doctor`: each configured listener is reached on the mail host's public address
 * as a client out there would (greeting, STARTTLS where the protocol has it, the TLS handshake verified for the
 * host name), the certificate is checked for every name clients use and for its expiry, and the MTA-STS policy
 * file is fetched the way senders fetch it.
 */
import net from 'node:net';
import tls from 'node:tls';
import { request } from 'node:https';
import { MTA_STS_PATH, type OurMtaStsPolicy } from '../policy/mta-sts-policy.ts';
import { fail, pass, skip, type DoctorCheck } from './report.ts';

export type PortRole = 'smtp' | 'submission' | 'submissions' | 'imap' | 'imaps' | 'pop3' | 'pop3s' | 'http' | 'https';

export interface LiveCheckInput {
  domain: string;
  hostname: string;
  /** The public address the checks connect to (the host name's first A/AAAA). */
  address: string;
  ports: Partial<Record<PortRole, number>>;
  /** Names served over https for the domain (mta-sts., autoconfig.). */
  httpsNames: string[];
  mtaSts: OurMtaStsPolicy | null;
  /** Extra trust anchors (PEM) beside the system's; for a private CA. */
  ca: string | null;
  timeoutMs: number;
  /** A certificate expiring sooner than this fails. */
  minValidityMs: number;
}

const GREETING: Partial<Record<PortRole, RegExp>> = { smtp: /^220 /m, submission: /^220 /m, submissions: /^220 /m, imap: /^\* OK/m, imaps: /^\* OK/m, pop3: /^\+OK/m, pop3s: /^\+OK/m };
const IMPLICIT: PortRole[] = ['submissions', 'imaps', 'pop3s', 'https'];

export function readUntil(socket: net.Socket, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new Error(`no answer matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) done(null);
    };
    const onEnd = (): void => done(new Error(`connection closed after ${JSON.stringify(text.slice(0, 80))}`));
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', done);
      if (err) reject(err);
      else resolve(text);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', done);
  });
}

export function connectPlain(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)));
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A verified TLS handshake for `servername`: throws when the chain or the name does not verify. */
function handshake(options: { socket?: net.Socket; address: string; port: number; servername: string; ca: string | null; timeoutMs: number }): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const ca = options.ca ? [...tls.rootCertificates, options.ca] : undefined;
    const secure = tls.connect({ ...(options.socket ? { socket: options.socket } : { host: options.address, port: options.port }), servername: options.servername, ca });
    const timer = setTimeout(() => secure.destroy(new Error(`no TLS handshake within ${options.timeoutMs} ms`)), options.timeoutMs);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(secure);
    });
    secure.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reaches one listener as a client would; returns the TLS socket when the protocol has TLS. */
async function reach(role: PortRole, input: LiveCheckInput, port: number, servername: string): Promise<tls.TLSSocket | null> {
  const { address, timeoutMs } = input;
  if (IMPLICIT.includes(role)) {
    const secure = await handshake({ address, port, servername, ca: input.ca, timeoutMs });
    if (GREETING[role]) await readUntil(secure as unknown as net.Socket, GREETING[role]!, timeoutMs);
    return secure;
  }
  const socket = await connectPlain(address, port, timeoutMs);
  if (role === 'http') {
    socket.destroy();
    return null;
  }
  await readUntil(socket, GREETING[role]!, timeoutMs);
  if (role === 'smtp' || role === 'submission') {
    socket.write(`EHLO ${input.hostname}\r\n`);
    const ehlo = await readUntil(socket, /^250 .*\r\n/m, timeoutMs);
    // RFC 3207 §4: STARTTLS is announced in the EHLO response.
    if (!/^250[- ]STARTTLS/im.test(ehlo)) throw new Error('STARTTLS is not offered');
    socket.write('STARTTLS\r\n');
    await readUntil(socket, /^220 .*\r\n/m, timeoutMs);
    return handshake({ socket, address, port, servername, ca: input.ca, timeoutMs });
  }
  socket.destroy();
  return null;
}

const PORT_FIX = 'start the server with this listener on, open the port in the firewall, and check that the host name resolves to this server';

export async function liveChecks(input: LiveCheckInput): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const certChecked = new Set<string>();
  for (const [role, port] of Object.entries(input.ports) as [PortRole, number][]) {
    const subject = `${role} ${input.address.includes(':') ? `[${input.address}]` : input.address}:${port}`;
    let secure: tls.TLSSocket | null = null;
    try {
      secure = await reach(role, input, port, input.hostname);
      checks.push(pass('port', subject, secure ? `answers, TLS ${secure.getProtocol()} with a certificate valid for ${input.hostname}` : 'answers'));
      if (secure && !certChecked.has(input.hostname)) {
        certChecked.add(input.hostname);
        checks.push(expiryCheck(input.hostname, secure.getPeerCertificate(), input.minValidityMs));
      }
    } catch (err) {
      const reason = (err as Error).message;
      const tlsProblem = /certificate|self.signed|altnames|verify/i.test(reason);
      checks.push(fail(tlsProblem ? 'certificate' : 'port', subject, reason, tlsProblem ? `use a certificate from a public CA that covers ${input.hostname}: switch on [acme] (docs/tls.md)` : PORT_FIX));
    } finally {
      secure?.destroy();
    }
  }
  if (input.ports.https) {
    for (const name of input.httpsNames) {
      try {
        const secure = await handshake({ address: input.address, port: input.ports.https, servername: name, ca: input.ca, timeoutMs: input.timeoutMs });
        checks.push(expiryCheck(name, secure.getPeerCertificate(), input.minValidityMs));
        secure.destroy();
      } catch (err) {
        checks.push(fail('certificate', name, (err as Error).message, `the https certificate must cover ${name}: with [acme] on it is obtained by itself once the name points here`));
      }
    }
  }
  checks.push(await policyFileCheck(input));
  return checks;
}

function expiryCheck(name: string, cert: tls.PeerCertificate, minValidityMs: number): DoctorCheck {
  const left = Date.parse(cert.valid_to) - Date.now();
  const days = Math.floor(left / 86_400_000);
  if (left < minValidityMs) return fail('certificate', name, `expires in ${days} day(s) (${cert.valid_to})`, 'renew it now: with [acme] look for acme.order_failed in the log; else replace the [tls] files and send SIGHUP');
  return pass('certificate', name, `valid for ${name}, expires in ${days} days`);
}

/** RFC 8461 §3.3: the policy is fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt with a valid certificate. */
async function policyFileCheck(input: LiveCheckInput): Promise<DoctorCheck> {
  const host = `mta-sts.${input.domain}`;
  if (!input.mtaSts) return skip('mta-sts', `https://${host}${MTA_STS_PATH}`, 'no MTA-STS policy is served');
  if (!input.ports.https) return fail('mta-sts', `https://${host}${MTA_STS_PATH}`, 'the https listener is off', 'switch on listen.https (port 443): the policy is served there');
  const url = `https://${host}${MTA_STS_PATH}`;
  try {
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: input.address, port: input.ports.https, path: MTA_STS_PATH, servername: host, headers: { Host: host }, ca: input.ca ? [...tls.rootCertificates, input.ca] : undefined, timeout: input.timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${input.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
    if (body.status !== 200) return fail('mta-sts', url, `HTTP ${body.status}`, `the domain must be hosted here and ${host} point at this server`);
    if (body.text !== input.mtaSts.text) return fail('mta-sts', url, 'a different policy is served there', `point ${host} at this server`);
    return pass('mta-sts', url, `serves our policy (${/mode: (\w+)/.exec(body.text)?.[1] ?? '?'})`);
  } catch (err) {
    return fail('mta-sts', url, (err as Error).message, `point ${host} at this server and give it a certificate (automatic with [acme])`);
  }
}
