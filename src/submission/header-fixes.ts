/**
 * The header fields a submission server adds to a message its user did not complete (RFC 6409 §8): a
 * Message-ID and a Date when missing. Fields are never rewritten, only added before the user's own.
 */
import { randomBytes } from 'node:crypto';
import { formatRfc5322Date } from '../delivery/trace.ts';
import { headerValue, type HeaderField } from '../message/header-fields.ts';

/** The fields to add before the message's header section ('' when nothing is missing). */
export function missingHeaderFields(fields: readonly HeaderField[], options: { hostname: string; now: Date }): string {
  let added = '';
  // RFC 6409 §8.3: a submission server MAY add a Message-ID when the message has none.
  if (!headerValue(fields, 'Message-ID')) added += `Message-ID: <${randomBytes(12).toString('hex')}@${options.hostname}>\r\n`;
  // RFC 6409 §8.2: likewise a Date (RFC 5322 §3.6 requires the origination date).
  if (!headerValue(fields, 'Date')) added += `Date: ${formatRfc5322Date(options.now)}\r\n`;
  return added;
}
