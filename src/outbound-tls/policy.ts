/**
 * Which TLS an MX host must offer before mail goes to it: DANE when its MX, address and TLSA records are
 * DNSSEC-validated (RFC 7672 §2.2, dane.ts), else the recipient domain's MTA-STS policy (RFC 8461; DANE wins,
 * §2), else opportunistic TLS.
 * Produces a plan per host: the TLS mode, the certificate check, and the policy TLS-RPT reports it under.
 */
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../core/log.ts';
import { DnsError, normalizeDnsName, type Resolver } from '../dns/resolver.ts';
import type { SecureResolver, TlsaRecord } from '../dns/secure-resolver.ts';
import { daneForHost, mxSecurity, type MxSecurity } from './dane.ts';
import type { TlsAttemptRecorder } from './attempt.ts';
import type { StsPolicyCache } from './mta-sts-cache.ts';
import { fetchStsPolicy } from './mta-sts-fetch.ts';
import { mxMatchesPolicy, parseStsPolicy, parseStsRecord, type StsPolicy } from './mta-sts-policy.ts';
import { checkDane, checkWebPki, type CheckResult, type TlsCheckOptions, type TlsResultType } from './tls-check.ts';

/** The policy a TLS session is counted under in TLS-RPT (RFC 8460 §4.4 "policy"). */
export interface PolicyRef {
  type: 'sts' | 'tlsa' | 'no-policy-found';
  /** The recipient domain. */
  domain: string;
  /** policy-string: the policy file's lines, or the TLSA records in presentation form. */
  strings: string[];
  /** For DANE, the MX host whose TLSA records apply. */
  mxHost?: string;
}

export interface DomainTls {
  domain: string;
  sts: StsPolicy | null;
  /** A policy that could not be fetched or parsed, to report (the domain is then treated as having none). */
  stsFailure: { type: TlsResultType; detail: string } | null;
  /** The MX RRset's DNSSEC state from the validating resolver; null when DANE is off. */
  mx: MxSecurity | null;
}

export interface HostPlan {
  /** 'required': no mail in plain text (DANE, MTA-STS enforce). */
  tlsMode: 'required' | 'opportunistic';
  /** Failing `check` or missing STARTTLS stops delivery to this host (otherwise it is only reported). */
  enforce: boolean;
  /** Certificate check after the handshake; null: any certificate (opportunistic TLS, RFC 7435). */
  check: ((socket: TLSSocket) => CheckResult) | null;
  policy: PolicyRef;
  /** Do not even connect: the host is not allowed (MTA-STS mx mismatch) or its TLSA records cannot be known. */
  refuse: { type: TlsResultType; detail: string } | null;
  /** Reported although nothing was refused: a host outside a testing policy. */
  note: { type: TlsResultType; detail: string } | null;
}

export interface OutboundTlsOptions {
  resolver: Resolver;
  /** The validating resolver for TLSA; null switches DANE off. */
  secure: SecureResolver | null;
  mtaSts: boolean;
  cache: StsPolicyCache;
  fetchTimeoutMs: number;
  policyPort: number;
  trust: TlsCheckOptions;
  logger: Logger;
  /** Policy fetch failures are counted here for TLS-RPT (RFC 8460 §4.3.2.2). */
  report?: TlsAttemptRecorder | null;
  now?: () => number;
}

function tlsaText(r: TlsaRecord): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toString('hex')}`;
}

export class OutboundTlsPolicy {
  readonly #o: OutboundTlsOptions;
  readonly #inflight = new Map<string, Promise<DomainTls>>();

  constructor(options: OutboundTlsOptions) {
    this.#o = options;
  }

  get trust(): TlsCheckOptions {
    return this.#o.trust;
  }

  /** The MTA-STS and DANE sides for a recipient domain (cached; concurrent callers share one lookup). */
  forDomain(rawDomain: string): Promise<DomainTls> {
    const domain = normalizeDnsName(rawDomain);
    let p = this.#inflight.get(domain);
    if (!p) {
      const secure = this.#o.secure;
      p = Promise.all([
        this.#o.mtaSts ? this.#discover(domain) : Promise.resolve({ sts: null, stsFailure: null }),
        secure ? mxSecurity(secure, domain) : Promise.resolve(null),
      ]).then(([sts, mx]) => ({ domain, ...sts, mx })).finally(() => this.#inflight.delete(domain));
      this.#inflight.set(domain, p);
    }
    return p;
  }

  async #discover(domain: string): Promise<Pick<DomainTls, 'sts' | 'stsFailure'>> {
    const now = this.#o.now?.() ?? Date.now();
    const cached = this.#o.cache.get(domain, now);
    let record: { id: string } | null = null;
    try {
      record = parseStsRecord(await this.#o.resolver.txt(`_mta-sts.${domain}`));
    } catch (err) {
      // RFC 8461 §5.1: a failed TXT lookup keeps the cached policy; without one there is no policy.
      if (!(err instanceof DnsError)) throw err;
    }
    // RFC 8461 §5.1: no (valid) TXT record but a cached policy: the cached policy is used.
    if (!record) return { sts: cached?.policy ?? null, stsFailure: null };
    if (cached && cached.id === record.id) return { sts: cached.policy, stsFailure: null };
    // RFC 8461 §3.3 / §5.1: a new id (or nothing cached): fetch the policy again.
    const fetched = await fetchStsPolicy(domain, { resolver: this.#o.resolver, timeoutMs: this.#o.fetchTimeoutMs, port: this.#o.policyPort, trust: this.#o.trust });
    if (!fetched.ok) {
      this.#reportFailure(domain, fetched.webpki ? 'sts-webpki-invalid' : 'sts-policy-fetch-error', fetched.reason, now);
      this.#o.logger.warn({ event: 'outbound_tls.sts_fetch_failed', domain, reason: fetched.reason, cached: Boolean(cached) }, 'MTA-STS policy could not be fetched');
      return { sts: cached?.policy ?? null, stsFailure: { type: fetched.webpki ? 'sts-webpki-invalid' : 'sts-policy-fetch-error', detail: fetched.reason } };
    }
    const parsed = parseStsPolicy(fetched.text);
    if (!parsed.ok) {
      this.#reportFailure(domain, 'sts-policy-invalid', parsed.reason, now);
      this.#o.logger.warn({ event: 'outbound_tls.sts_fetch_failed', domain, reason: parsed.reason, cached: Boolean(cached) }, 'MTA-STS policy is invalid');
      return { sts: cached?.policy ?? null, stsFailure: { type: 'sts-policy-invalid', detail: parsed.reason } };
    }
    this.#o.cache.put({ domain, id: record.id, policy: parsed.policy, fetchedAt: now, expiresAt: now + parsed.policy.maxAge * 1000 });
    this.#o.logger.info({ event: 'outbound_tls.sts_policy', domain, id: record.id, mode: parsed.policy.mode, maxAge: parsed.policy.maxAge, mx: parsed.policy.mx }, 'MTA-STS policy fetched');
    return { sts: parsed.policy, stsFailure: null };
  }

  #reportFailure(domain: string, result: TlsResultType, detail: string, at: number): void {
    this.#o.report?.record({ at, policy: { type: 'sts', domain, strings: [] }, result, mx: `mta-sts.${domain}`, ip: null, detail });
  }

  /** The plan for one MX host of `dom` on `port`; `source` says whether the domain named it in MX records. */
  async planHost(dom: DomainTls, rawHost: string, port: number, source: 'mx' | 'implicit-mx' = 'mx'): Promise<HostPlan> {
    const host = normalizeDnsName(rawHost);
    const base = { refuse: null, note: null };
    if (this.#o.secure) {
      const dane = await daneForHost({ secure: this.#o.secure, mx: dom.mx, host, port, source });
      if (dane.kind === 'failed') {
        // RFC 7672 §2.2: a DNSSEC state that cannot be known means no delivery to this host now.
        const policy: PolicyRef = { type: 'tlsa', domain: dom.domain, strings: [], mxHost: host };
        return { tlsMode: 'required', enforce: true, check: null, policy, refuse: { type: 'dnssec-invalid', detail: dane.detail }, note: null };
      }
      if (dane.kind === 'dane') {
        const policy: PolicyRef = { type: 'tlsa', domain: dom.domain, strings: dane.records.map(tlsaText), mxHost: host };
        // RFC 7672 §2.2: secure TLSA records that are all unusable still make TLS mandatory, without authentication.
        if (dane.usable.length === 0) return { tlsMode: 'required', enforce: true, check: null, policy, ...base };
        // RFC 7672 §2.2: DANE applies; RFC 8461 §2: it takes precedence over MTA-STS.
        return { tlsMode: 'required', enforce: true, check: (socket) => checkDane(socket, dane.usable, dane.names), policy, ...base };
      }
    }
    const sts = dom.sts;
    if (!sts || sts.mode === 'none') {
      return { tlsMode: 'opportunistic', enforce: false, check: null, policy: { type: 'no-policy-found', domain: dom.domain, strings: [] }, ...base };
    }
    const policy: PolicyRef = { type: 'sts', domain: dom.domain, strings: sts.text.split(/\r?\n/).filter((l) => l.trim() !== '') };
    const enforce = sts.mode === 'enforce';
    const matches = mxMatchesPolicy(host, sts.mx);
    // RFC 8461 §4.1: in enforce mode only MX hosts the policy names may get the mail.
    const mismatch = matches ? null : { type: 'validation-failure' as const, detail: `MX host ${host} is not in the MTA-STS policy of ${dom.domain} (mx: ${sts.mx.join(', ')})` };
    if (mismatch && enforce) return { tlsMode: 'required', enforce, check: null, policy, refuse: mismatch, note: null };
    // RFC 8461 §4.2: the certificate must be valid for the MX host name (WebPKI); testing mode only reports (§5).
    return { tlsMode: enforce ? 'required' : 'opportunistic', enforce, check: (socket) => checkWebPki(socket, host), policy, refuse: null, note: mismatch };
  }
}
