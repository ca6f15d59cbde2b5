/**
 * Bounces arriving for us (on the MX, or our own DSNs delivered locally): when a null-sender message is
 * addressed to a VERP return path, the encoded recipient's hard failure goes on the suppression list.
 */
import type { Logger } from '../core/log.ts';
import type { SuppressionStore } from '../store/types.ts';
import { suppressFromBounce } from './bounce-parse.ts';
import { decodeVerp } from './verp.ts';

export interface InboundBounce {
  /** Envelope sender: only `<>` (the empty string) marks a bounce (RFC 5321 §4.5.5). */
  sender: string;
  recipients: string[];
  message: Buffer;
}

/** True when this envelope may carry a VERP bounce: null sender and at least one VERP recipient. */
export function isVerpBounce(envelope: { sender: string; recipients: string[] }): boolean {
  return envelope.sender === '' && envelope.recipients.some((r) => decodeVerp(r) !== null);
}

/** Records suppressions for every VERP recipient of a bounce; returns the suppressed addresses. */
export async function processInboundBounce(bounce: InboundBounce, deps: { suppression: SuppressionStore; logger: Logger }): Promise<string[]> {
  if (!isVerpBounce(bounce)) return [];
  const added: string[] = [];
  for (const envelopeRecipient of bounce.recipients) {
    if (!decodeVerp(envelopeRecipient)) continue;
    added.push(...(await suppressFromBounce({ envelopeRecipient, message: bounce.message, decodeVerp: (a) => decodeVerp(a) }, deps.suppression)));
  }
  if (added.length > 0) deps.logger.info({ event: 'queue.suppressed', addresses: added, via: bounce.recipients }, 'bounce recorded on the suppression list');
  return added;
}
