/**
 * `InboundPolicy`: what the MX side of the SMTP server asks at each decision point (connect, MAIL, RCPT,
 * end of DATA) and the verdicts it gets back. It composes rate limits, greylisting, SPF/DKIM/DMARC/ARC and
 * the spam score; it keeps no per-connection state, so the SMTP session passes what it knows.
 */
import { checkSpfAtMail, stripForgedAuthResults, type InboundAuthResult } from './inbound-auth.ts';
import { localMessageChecks, type MessageChecks } from './message-checks.ts';
import { splitParts, type MessageParts } from './message-parts.ts';
import { toCrlf } from './dkim-canon.ts';
import { Greylister, MemoryGreylistStore, DEFAULT_GREYLIST_OPTIONS, type GreylistOptions, type GreylistStore } from './greylist.ts';
import { ipInCidr } from './ip-prefix.ts';
import { RateLimiter, DEFAULT_RATE_LIMIT_OPTIONS, type RateLimitOptions } from './rate-limit.ts';
import { scoreSpam, DEFAULT_SPAM_OPTIONS, type SpamOptions, type SpamResult } from './spam.ts';
import type { Logger } from '../core/log.ts';
import type { Clock, DataVerdict, GateVerdict, PolicyResolver } from './types.ts';

/** Settings that a recipient domain may override. */
export interface DomainPolicy {
  /** RFC 7208 §8.4: refuse at RCPT when SPF for MAIL FROM is "fail". */
  rejectSpfFail: boolean;
  /** RFC 7489 §6.7: honour p=reject with 550 5.7.1 (otherwise such mail goes to Junk). */
  dmarcReject: boolean;
  /** p=quarantine (and p=reject when not rejecting) goes to Junk. */
  dmarcQuarantineToJunk: boolean;
  greylist: boolean;
  spamFilter: boolean;
}

export interface InboundPolicyOptions {
  /** Our hostname: the authserv-id of Authentication-Results (RFC 8601 §2.5) and a name clients must not claim. */
  hostname: string;
  /** Other names of this server (local domains), which no client may use in HELO. */
  ourNames: string[];
  /** Client networks that skip every check (monitoring, internal relays). */
  trustedNetworks: string[];
  authChecks: boolean;
  minRsaBits: number;
  defaults: DomainPolicy;
  domains: Record<string, Partial<DomainPolicy>>;
  spam: SpamOptions;
  greylist: GreylistOptions;
  rateLimit: RateLimitOptions;
}

export const DEFAULT_DOMAIN_POLICY: DomainPolicy = { rejectSpfFail: false, dmarcReject: true, dmarcQuarantineToJunk: true, greylist: true, spamFilter: true };

export function defaultInboundPolicyOptions(hostname: string): InboundPolicyOptions {
  return {
    hostname,
    ourNames: [],
    trustedNetworks: ['127.0.0.0/8', '::1'],
    authChecks: true,
    minRsaBits: 1024,
    defaults: DEFAULT_DOMAIN_POLICY,
    domains: {},
    spam: DEFAULT_SPAM_OPTIONS,
    greylist: DEFAULT_GREYLIST_OPTIONS,
    rateLimit: DEFAULT_RATE_LIMIT_OPTIONS,
  };
}

export interface TransactionContext {
  ip: string;
  helo: string;
  /** MAIL FROM; '' for the null reverse-path. */
  sender: string;
}

export interface DataResult {
  verdict: DataVerdict;
  /** Authentication-Results (+ Received-SPF) and X-Spam-Status, CRLF-terminated: prepend to the stored copy. */
  headersToPrepend: string;
  /** The header section with forged Authentication-Results removed (RFC 8601 §5): store this one, not the original. */
  header: Buffer;
  auth: InboundAuthResult | null;
  spam: SpamResult | null;
}

export class InboundPolicy {
  readonly #o: InboundPolicyOptions;
  readonly #resolver: PolicyResolver;
  readonly #rates: RateLimiter;
  readonly #greylister: Greylister;
  readonly #logger: Logger | undefined;
  readonly #checks: MessageChecks;

  /** `rates`: a limiter built by the caller (shared between nodes); default: one of this process. */
  constructor(deps: { options: InboundPolicyOptions; resolver: PolicyResolver; greylistStore?: GreylistStore; rates?: RateLimiter; now?: Clock; logger?: Logger; checks?: MessageChecks }) {
    this.#logger = deps.logger;
    this.#checks = deps.checks ?? localMessageChecks;
    this.#o = deps.options;
    this.#resolver = deps.resolver;
    this.#rates = deps.rates ?? new RateLimiter({ options: deps.options.rateLimit, now: deps.now });
    this.#greylister = new Greylister({ store: deps.greylistStore ?? new MemoryGreylistStore(), options: deps.options.greylist, now: deps.now });
  }

  async onConnect(ip: string): Promise<GateVerdict> {
    if (this.#isTrusted(ip)) return { action: 'accept' };
    return this.#rates.onConnection(ip);
  }

  async onMailFrom(ctx: TransactionContext): Promise<GateVerdict> {
    if (this.#isTrusted(ctx.ip)) return { action: 'accept' };
    return this.#rates.onMessage(ctx.ip);
  }

  async onRcptTo(ctx: TransactionContext & { recipient: string; clientHostname?: string | null }): Promise<GateVerdict> {
    if (this.#isTrusted(ctx.ip)) return { action: 'accept' };
    const domainPolicy = this.#forRecipient(ctx.recipient);
    if (this.#o.authChecks && domainPolicy.rejectSpfFail && ctx.sender !== '') {
      const spf = await checkSpfAtMail({ ip: ctx.ip, helo: ctx.helo, sender: ctx.sender, hostname: this.#o.hostname, resolver: this.#resolver });
      if (spf.result === 'fail') {
        // RFC 7208 §8.4: "fail" may be rejected with 550 5.7.23 (RFC 7372 §3.2).
        return { action: 'reject', reply: { code: 550, enhancedCode: '5.7.23', text: `SPF check failed: ${spf.domain} does not designate ${ctx.ip} as permitted sender`, rule: 'spf_fail' } };
      }
    }
    if (domainPolicy.greylist) {
      return this.#greylister.check({ ip: ctx.ip, sender: ctx.sender, recipient: ctx.recipient, clientHostname: ctx.clientHostname });
    }
    return { action: 'accept' };
  }

  /**
   * End of DATA. The message comes as `parts` (header in memory, body possibly in a spool file) or whole as
   * `message`. Never throws: a failure inside the checks is a tempfail (451 4.7.0), not a crash.
   */
  async onData(input: { message?: Buffer; parts?: MessageParts; envelope: TransactionContext & { recipients: string[] } }): Promise<DataResult> {
    const { envelope } = input;
    const parts = input.parts ?? splitParts(toCrlf(input.message ?? Buffer.alloc(0)));
    if (this.#isTrusted(envelope.ip)) return { verdict: { action: 'accept' }, headersToPrepend: '', header: parts.header, auth: null, spam: null };
    const policies = envelope.recipients.map((r) => this.#forRecipient(r));
    try {
      const authPromise = this.#o.authChecks
        ? this.#checks.authenticate({ parts, ip: envelope.ip, helo: envelope.helo, sender: envelope.sender, hostname: this.#o.hostname, minRsaBits: this.#o.minRsaBits }, this.#resolver)
        : Promise.resolve(null);
      const spamWanted = policies.some((p) => p.spamFilter);
      // The client checks (DNS lists, FCrDNS, HELO) run in parallel with authentication.
      const [auth, spam] = await Promise.all([
        authPromise,
        spamWanted
          ? scoreSpam({ ip: envelope.ip, helo: envelope.helo, ourHostnames: [this.#o.hostname, ...this.#o.ourNames], auth: authPromise, resolver: this.#resolver, options: this.#o.spam })
          : null,
      ]);
      // In shadow mode no X-Spam-Status either: a mail client's filter would act on it.
      const headersToPrepend = (auth?.authResultsHeader ?? '') + (spam && !this.#o.spam.shadow ? spam.header : '');
      return { verdict: this.#decide(auth, spam, policies), headersToPrepend, header: auth?.header ?? stripForgedAuthResults(parts.header, this.#o.hostname), auth, spam };
    } catch (err) {
      this.#logger?.error({ event: 'policy.error', err, ip: envelope.ip }, 'message checks failed');
      return { verdict: { action: 'tempfail', reply: { code: 451, enhancedCode: '4.7.0', text: 'Temporary failure in message checks, try again later', rule: 'checks_failed' } }, headersToPrepend: '', header: parts.header, auth: null, spam: null };
    }
  }

  #decide(auth: InboundAuthResult | null, spam: SpamResult | null, policies: DomainPolicy[]): DataVerdict {
    // One reply covers every recipient, so a rejection needs every recipient domain to want it.
    const all = (f: (p: DomainPolicy) => boolean) => policies.length > 0 && policies.every(f);
    const any = (f: (p: DomainPolicy) => boolean) => policies.some(f);
    if (auth?.dmarcPolicy === 'reject' && all((p) => p.dmarcReject)) {
      // RFC 7489 §6.7 / RFC 7372: 5.7.1 with the reason.
      return { action: 'reject', reply: { code: 550, enhancedCode: '5.7.1', text: `Message rejected by the DMARC policy of ${auth.dmarc.domain}`, rule: 'dmarc_reject' } };
    }
    // Shadow mode: the spam verdict is only recorded (message trace, log line); DMARC still applies.
    if (this.#o.spam.shadow) spam = null;
    if (spam?.verdict === 'reject' && spam.reply && all((p) => p.spamFilter)) return { action: 'reject', reply: spam.reply };
    if ((auth?.dmarcPolicy === 'quarantine' || auth?.dmarcPolicy === 'reject') && any((p) => p.dmarcQuarantineToJunk)) return { action: 'junk' };
    if (spam && spam.verdict !== 'accept') return { action: 'junk' };
    return { action: 'accept' };
  }

  #forRecipient(recipient: string): DomainPolicy {
    const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
    return { ...this.#o.defaults, ...(this.#o.domains[domain] ?? {}) };
  }

  /** Trusted clients skip every check (and the app need not keep their message for inspection). */
  isTrusted(ip: string): boolean {
    return this.#isTrusted(ip);
  }

  readonly #trustedCache = new Map<string, boolean>();

  #isTrusted(ip: string): boolean {
    // Asked at every connection, MAIL, RCPT and end of data: remember the answer per address (bounded).
    const known = this.#trustedCache.get(ip);
    if (known !== undefined) return known;
    const trusted = this.#o.trustedNetworks.some((c) => ipInCidr(ip, c));
    if (this.#trustedCache.size > 10_000) this.#trustedCache.clear();
    this.#trustedCache.set(ip, trusted);
    return trusted;
  }
}
