/**
 * Inbound sender authentication through mailauth: SPF (RFC 7208) on MAIL FROM and HELO, every DKIM signature
 * (RFC 6376), DMARC (RFC 7489) with alignment, ARC (RFC 8617); one Authentication-Results field (RFC 8601)
 * with our authserv-id, after removing forged ones that claim it.
 */
import { authenticate, spf as mailauthSpf } from 'mailauth';
import { splitMessage, toCrlf } from './dkim-canon.ts';
import { messageStream, splitParts, wholeMessage, type MessageParts } from './message-parts.ts';
import type { PolicyResolver } from './types.ts';

export type AuthResultValue = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

export interface SpfOutcome {
  result: AuthResultValue;
  domain: string;
  comment: string;
}

export interface DkimOutcome {
  result: AuthResultValue;
  domain: string;
  selector: string;
  aligned: boolean;
}

export interface DmarcOutcome {
  result: AuthResultValue;
  /** The organizational domain of the From domain (RFC 7489 §3.2, Public Suffix List). */
  domain: string;
  /** The RFC5322.From domain itself (header_from in aggregate reports); '' when there is none. */
  fromDomain?: string;
  /** The published policy for this domain (p= or sp=), before pct. */
  published: 'none' | 'quarantine' | 'reject' | null;
}

export interface InboundAuthResult {
  /** The header section with forged Authentication-Results removed (ends with the empty line): store this one. */
  header: Buffer;
  /** "Authentication-Results: ..." folded and CRLF-terminated, plus a Received-SPF field (RFC 7208 §9.1). */
  authResultsHeader: string;
  spf: SpfOutcome;
  heloSpf: SpfOutcome | null;
  dkim: DkimOutcome[];
  dmarc: DmarcOutcome;
  arc: { result: AuthResultValue; instances: number };
  /** What `arcSeal` needs if this message is forwarded: our results and the chain validation (RFC 8617 §4.1.3). */
  arcSealInput: { authResults: string; cv: 'none' | 'pass' | 'fail' };
  /** The DMARC policy to apply because DMARC failed (after pct sampling), or null when it did not fail. */
  dmarcPolicy: 'none' | 'quarantine' | 'reject' | null;
}

export interface CheckInboundOptions {
  message: Buffer;
  ip: string;
  helo: string;
  /** MAIL FROM address; '' for the null reverse-path. */
  sender: string;
  /** Our authserv-id (RFC 8601 §2.5): the server's hostname. */
  hostname: string;
  resolver: PolicyResolver;
  /** Reject DKIM/ARC RSA keys shorter than this (RFC 8301 §3.2: 1024). */
  minRsaBits?: number;
  /** For DMARC pct= sampling (RFC 7489 §6.6.4); defaults to Math.random. */
  random?: () => number;
}

const RESULTS = new Set<AuthResultValue>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);

function asResult(value: unknown): AuthResultValue {
  const v = String(value ?? 'none').toLowerCase();
  if (v === 'temperr') return 'temperror';
  return RESULTS.has(v as AuthResultValue) ? (v as AuthResultValue) : 'none';
}

function asPolicy(value: unknown): 'none' | 'quarantine' | 'reject' | null {
  const v = String(value ?? '').toLowerCase();
  return v === 'none' || v === 'quarantine' || v === 'reject' ? v : null;
}

function resolverFn(resolver: PolicyResolver) {
  // mailauth's declared return type is narrower than what it really consumes (MX objects, TXT arrays).
  return ((name: string, rrtype: string) => resolver.resolve(name, rrtype)) as unknown as (name: string, rrtype: string) => Promise<string[]>;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return (at === -1 ? address : address.slice(at + 1)).toLowerCase();
}

/** RFC 7208 §2.3: the HELO identity is checked when it is a domain name (not an address literal). */
function isDomainName(helo: string): boolean {
  return /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]\.?$/i.test(helo);
}

/** The checks on a message held whole (tests, small callers); the result carries the cleaned message. */
export async function checkInbound(options: CheckInboundOptions): Promise<InboundAuthResult & { message: Buffer }> {
  const parts = splitParts(toCrlf(options.message));
  const result = await checkInboundParts({ ...options, parts });
  return { ...result, message: await wholeMessage({ header: result.header, body: parts.body }) };
}

/**
 * The checks on a message whose body may be in a spool file: the body is streamed through mailauth (DKIM
 * body hashes), only the header section is held. The body must already have CRLF line ends.
 */
export async function checkInboundParts(options: Omit<CheckInboundOptions, 'message'> & { parts: MessageParts }): Promise<InboundAuthResult> {
  const header = stripForgedAuthResults(toCrlf(options.parts.header), options.hostname);
  const resolver = resolverFn(options.resolver);
  const [auth, heloSpf] = await Promise.all([
    authenticate(messageStream({ header, body: options.parts.body }), {
      ip: options.ip,
      helo: options.helo,
      // RFC 7208 §2.4: with a null reverse-path the identity is postmaster@HELO; mailauth does this itself.
      sender: options.sender,
      mta: options.hostname,
      resolver,
      minBitLength: options.minRsaBits ?? 1024,
      disableBimi: true,
    }),
    checkHeloSpf(options),
  ]);

  const spfStatus = auth.spf ? auth.spf.status : null;
  const spf: SpfOutcome = {
    result: asResult(spfStatus?.result),
    domain: auth.spf ? auth.spf.domain : domainOf(options.sender),
    comment: spfStatus?.comment ?? '',
  };
  const dkim: DkimOutcome[] = (auth.dkim?.results ?? [])
    .filter((r) => r.signingDomain)
    .map((r) => ({ result: asResult(r.status.result), domain: r.signingDomain, selector: r.selector ?? '', aligned: !!r.status.aligned }));
  const dm = auth.dmarc || null;
  const published = dm ? asPolicy(dm.policy) : null;
  const headerFrom = dm ? String(dm.status.header?.['d'] ?? dm.domain ?? '').toLowerCase() : '';
  const dmarc: DmarcOutcome = { result: asResult(dm?.status.result), domain: dm?.domain ?? '', fromDomain: headerFrom, published };
  let headers = auth.headers;
  let arcAuthResults = (auth.arc && auth.arc.authResults) || '';
  if (dm && dmarc.result === 'pass' && !isStrictlyAligned(dm, spf, dkim)) {
    // mailauth 4 falls back to organisational-domain matching even for adkim=s / aspf=s; RFC 7489 §3.1.1
    // and §3.1.2 require the exact domain in strict mode, so a pass it reports may be a fail.
    dmarc.result = 'fail';
    const fix = (text: string) => text.replace(/dmarc=pass(?: \()?/, (m) => (m.endsWith('(') ? 'dmarc=fail (strict alignment failed; ' : 'dmarc=fail (strict alignment failed)'));
    headers = fix(headers);
    arcAuthResults = fix(arcAuthResults);
  }
  const arc = { result: asResult(auth.arc ? auth.arc.status.result : 'none'), instances: auth.arc && typeof auth.arc.i === 'number' ? auth.arc.i : 0 };

  const arcSealInput: InboundAuthResult['arcSealInput'] = {
    authResults: arcAuthResults || headerValue(headers, 'authentication-results'),
    cv: arc.result === 'pass' ? 'pass' : arc.instances > 0 ? 'fail' : 'none',
  };

  let dmarcPolicy: InboundAuthResult['dmarcPolicy'] = null;
  if (dmarc.result === 'fail') {
    dmarcPolicy = published ?? 'none';
    const pct = dm && typeof dm.pct === 'number' ? dm.pct : 100;
    // RFC 7489 §6.6.4: messages outside the pct sample get the next less strict policy.
    if (pct < 100 && (options.random ?? Math.random)() * 100 >= pct) {
      dmarcPolicy = dmarcPolicy === 'reject' ? 'quarantine' : 'none';
    }
  }

  if (heloSpf && options.sender !== '') {
    // RFC 8601 §2.7.2: a second spf result for the HELO identity, placed before the mailauth one.
    headers = headers.replace(/(Authentication-Results: [^;\r\n]+;)/, `$1\r\n spf=${heloSpf.result} smtp.helo=${options.helo};`);
  }
  return { header, authResultsHeader: headers.endsWith('\r\n') ? headers : headers + '\r\n', spf, heloSpf, dkim, dmarc, arc, arcSealInput, dmarcPolicy };
}

/** RFC 7489 §3.1: with adkim=s / aspf=s the authenticated domain must equal the From domain exactly. */
function isStrictlyAligned(dm: { status: { header?: Record<string, unknown> }; alignment?: { spf: { strict: boolean; result?: unknown }; dkim: { strict: boolean; result?: unknown } } }, spf: SpfOutcome, dkim: DkimOutcome[]): boolean {
  const fromDomain = String(dm.status.header?.['d'] ?? '').toLowerCase();
  const a = dm.alignment;
  if (!a || !fromDomain) return true;
  // In relaxed mode mailauth's organisational-domain match is right, so its answer stands.
  const spfAligned = a.spf.strict ? spf.result === 'pass' && spf.domain.toLowerCase() === fromDomain : !!a.spf.result;
  const dkimAligned = a.dkim.strict ? dkim.some((d) => d.result === 'pass' && d.domain.toLowerCase() === fromDomain) : !!a.dkim.result;
  return spfAligned || dkimAligned;
}

function headerValue(headers: string, name: string): string {
  const { fields } = splitMessage(Buffer.from(headers + '\r\n', 'latin1'));
  const f = fields.find((x) => x.name === name);
  return f ? f.raw.slice(f.raw.indexOf(':') + 1).trim() : '';
}

async function checkHeloSpf(options: { ip: string; helo: string; hostname: string; resolver: PolicyResolver }): Promise<SpfOutcome | null> {
  if (!isDomainName(options.helo)) return null;
  const r = await mailauthSpf({ ip: options.ip, helo: options.helo, sender: `postmaster@${options.helo}`, mta: options.hostname, resolver: resolverFn(options.resolver) });
  return { result: asResult(r.status.result), domain: options.helo.toLowerCase(), comment: r.status.comment ?? '' };
}

/** SPF on MAIL FROM only, early enough to reject a `-all` fail at RCPT (RFC 7208 §8.4). */
export async function checkSpfAtMail(options: { ip: string; helo: string; sender: string; hostname: string; resolver: PolicyResolver }): Promise<SpfOutcome> {
  const sender = options.sender === '' ? `postmaster@${options.helo}` : options.sender;
  const r = await mailauthSpf({ ip: options.ip, helo: options.helo, sender, mta: options.hostname, resolver: resolverFn(options.resolver) });
  return { result: asResult(r.status.result), domain: r.domain || domainOf(sender), comment: r.status.comment ?? '' };
}

/**
 * RFC 8601 §5: an MTA MUST remove (or rename) Authentication-Results fields that claim its own authserv-id,
 * since only it can have added them. Comparison is case-insensitive; CFWS before the id is skipped.
 */
export function stripForgedAuthResults(message: Buffer, authservId: string): Buffer {
  const crlf = toCrlf(message);
  const { fields, body } = splitMessage(crlf);
  const id = authservId.toLowerCase();
  const kept = fields.filter((f) => {
    if (f.name !== 'authentication-results') return true;
    const value = f.raw.slice(f.raw.indexOf(':') + 1).replace(/\([^)]*\)/g, ' ');
    const claimed = value.split(';')[0]!.trim().split(/\s+/)[0]!.toLowerCase();
    return claimed !== id;
  });
  if (kept.length === fields.length) return crlf;
  const head = kept.map((f) => f.raw + '\r\n').join('');
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]);
}
