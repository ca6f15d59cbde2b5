/**
 * DKIM signatures on the reports we send: the From domain signs, or the nearest parent up to its organizational
 * domain that has an active key (still DMARC-aligned, RFC 7489 §3.1.1 relaxed mode).
 */
import type { Logger } from '../core/log.ts';
import { signMessage } from '../policy/dkim-sign.ts';
import { organizationalDomain } from '../policy/org-domain.ts';
import type { DkimKey } from '../policy/types.ts';

export interface ReportSigner {
  /** The message with its DKIM-Signature field(s) prepended; unchanged (and logged) when no key can sign. */
  sign(message: Buffer, from: string): Promise<Buffer>;
}

/** From "postmaster@mx.example.org": mx.example.org, then example.org (never above the organizational domain). */
export function signingDomains(from: string): string[] {
  const domain = from.slice(from.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
  const org = organizationalDomain(domain);
  const out = [domain];
  let d = domain;
  while (d !== org && d.includes('.')) {
    d = d.slice(d.indexOf('.') + 1);
    out.push(d);
  }
  return out;
}

export function dkimReportSigner(options: { keys: { activeKeys(domain: string): Promise<DkimKey[]> }; logger: Logger }): ReportSigner {
  return {
    async sign(message, from) {
      const domains = signingDomains(from);
      // RFC 8460 §3: a TLS report sent by mail carries a DKIM signature of the reporting domain; DMARC reports are
      // signed the same way so that the receiver can tell them from forgeries (RFC 7489 §7.2 sends them as mail).
      for (const domain of domains) {
        const keys = await options.keys.activeKeys(domain);
        if (keys.length === 0) continue;
        return Buffer.concat([await signMessage({ message, domain, keys }), message]);
      }
      options.logger.warn({ event: 'reports.unsigned', from, tried: domains, reason: 'no active DKIM key for the report sender\'s domain' }, 'report sent without a DKIM signature: run `postamt dkim generate` for the reports.from domain');
      return message;
    },
  };
}
