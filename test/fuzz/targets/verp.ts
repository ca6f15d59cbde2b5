/** VERP: decodeVerp never throws on any address, and decode(encode(x)) gives x back. */
import assert from 'node:assert/strict';
import { decodeVerp, encodeVerp } from '../../../src/queue/verp.ts';
import type { FuzzTarget } from '../engine/target.ts';

/** The recipient as decode returns it: the domain is lower-cased (domains are case-insensitive). */
export function expectedRecipient(recipient: string): string {
  const at = recipient.lastIndexOf('@');
  return `${recipient.slice(0, at)}@${recipient.slice(at + 1).toLowerCase()}`;
}

export function checkVerpRoundTrip(returnPath: string, recipient: string, delimiter = '+'): void {
  const encoded = encodeVerp(returnPath, recipient, { delimiter });
  const decoded = decodeVerp(encoded, { base: returnPath, delimiter });
  assert.deepEqual(decoded, { base: returnPath, recipient: expectedRecipient(recipient) }, `encoded as ${encoded}`);
}

export const verpTarget: FuzzTarget = {
  name: 'verp',
  maxLength: 512,
  dictionary: ['@', '+', '=', '-', '.', '[', ']', 'list-bounces', 'example.org', '\u00e9', '"'],
  seeds: ['list-bounces+alice=example.org@lists.example.test', 'a+b=c@d', '+=@', 'x+y=[192.0.2.1]@d'],
  run(data) {
    const text = data.toString('utf8');
    decodeVerp(text);
    decodeVerp(text, { base: 'list-bounces@lists.example.test' });
    decodeVerp(text, { base: text, delimiter: '-' });
    // Split the input into a return path and a recipient and round-trip them when both are addresses
    // VERP can carry (a recipient domain of letters, digits, dots and hyphens).
    const [rp = '', rcpt = ''] = text.split('\u0001');
    if (/^[^@\s]+@[^@\s]+$/.test(rp) && /^[^\s]+@[A-Za-z0-9.-]+$/.test(rcpt) && !rcpt.slice(0, rcpt.lastIndexOf('@')).includes('\u0001')) {
      checkVerpRoundTrip(rp, rcpt);
    }
  },
};
