/**
 * How much of a forwarded message a bounce may carry back to its envelope sender (RFC 3461 §4.3 RET):
 * the whole message only when that sender is authenticated, else its header section. A forged sender
 * asking RET=FULL must not get an attacker's body delivered to a victim by our bounce (backscatter).
 */
import type { InboundAuthResult } from './inbound-auth.ts';

function isSameOrSubdomain(domain: string, of: string): boolean {
  return domain === of || domain.endsWith(`.${of}`);
}

/**
 * Whether the envelope sender passed SPF (for its own domain) or a DKIM signature of its domain (or a parent
 * domain) verified. Clients in trusted networks count as authenticated; no result at all does not.
 */
export function isSenderAuthenticated(input: { sender: string; trusted: boolean; auth: InboundAuthResult | null }): boolean {
  if (input.trusted) return true;
  const at = input.sender.lastIndexOf('@');
  if (at < 0 || !input.auth) return false;
  const domain = input.sender.slice(at + 1).toLowerCase().replace(/\.$/, '');
  const { spf, dkim } = input.auth;
  if (spf.result === 'pass' && spf.domain.toLowerCase() === domain) return true;
  return dkim.some((d) => d.result === 'pass' && isSameOrSubdomain(domain, d.domain.toLowerCase()));
}

/** The RET value stored with a queue entry for forwarded mail: FULL becomes HDRS for an unauthenticated sender. */
export function forwardedReturn(ret: 'FULL' | 'HDRS' | null, input: { sender: string; trusted: boolean; auth: InboundAuthResult | null }): 'FULL' | 'HDRS' | null {
  return ret === 'FULL' && !isSenderAuthenticated(input) ? 'HDRS' : ret;
}
