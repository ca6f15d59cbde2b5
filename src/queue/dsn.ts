/**
 * Delivery status notifications (RFC 3464 / RFC 6522 multipart/report): builds the bounce, delay warning
 * or success report sent from MAILER-DAEMON with the null reverse-path, and decides whether one is due
 * (RFC 3461 NOTIFY, never to <>, never for a bounce).
 */
import { randomBytes } from 'node:crypto';
import { encodeXtext } from '../protocols/smtp/client-data.ts';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  address: string;
  /** RFC 3461 ORCPT as `addr-type;address`. */
  orcpt?: string | null;
  action: DsnAction;
  /** RFC 3463 status, e.g. 5.1.1. */
  status: string;
  /** Host name of the MTA that answered (Remote-MTA: dns; host). */
  remoteMta?: string | null;
  /** The SMTP reply, e.g. "550 5.1.1 no such user" (Diagnostic-Code: smtp; ...). */
  diagnostic?: string | null;
  lastAttemptAt?: Date | null;
  willRetryUntil?: Date | null;
}

export interface DsnInput {
  reportingMta: string;
  /** The envelope sender of the original message: the DSN goes there. */
  originalSender: string;
  envid?: string | null;
  arrivalDate: Date;
  ret?: 'FULL' | 'HDRS' | null;
  recipients: DsnRecipient[];
  original: Buffer;
  now: Date;
  /** Above this size RET=FULL falls back to headers only (RFC 3461 §4.3 lets the MTA truncate). */
  maxReturnedBytes?: number;
}

/** RFC 3461 §4.1: NOTIFY=NEVER sends nothing; absent NOTIFY means FAILURE (and DELAY at our option). */
export function wantsNotification(notify: string[] | null | undefined, action: DsnAction, options: { delayByDefault?: boolean } = {}): boolean {
  const values = (notify ?? []).map((v) => v.toUpperCase());
  if (values.includes('NEVER')) return false;
  if (values.length === 0) return action === 'failed' || (action === 'delayed' && (options.delayByDefault ?? true));
  if (action === 'failed') return values.includes('FAILURE');
  if (action === 'delayed') return values.includes('DELAY');
  return values.includes('SUCCESS');
}

/** RFC 3464 §6.2 / RFC 5321 §4.5.5: no report to the null reverse-path (that would be a bounce of a bounce). */
export function canSendDsnTo(sender: string): boolean {
  return sender.trim() !== '' && sender.trim() !== '<>';
}

/** RFC 5322 §3.3 date. */
export function formatMailDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

function headerEnd(message: Buffer): number {
  const crlf = message.indexOf('\r\n\r\n');
  // A bare-LF blank line counts only before the CRLF one: no need to search the body after it.
  const lf = (crlf >= 0 ? message.subarray(0, crlf) : message).indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  if (lf >= 0) return lf + 2;
  return message.length;
}

/** The header section of a stored message (bytes up to and including the blank line). */
export function messageHeaders(message: Buffer): Buffer {
  return message.subarray(0, headerEnd(message));
}

function subjectOf(message: Buffer): string | null {
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(messageHeaders(message).toString('utf8'));
  return m ? m[1]!.replace(/\r?\n/g, '').trim() : null;
}

/** RFC 5322 §2.1.1: every line we write is at most 998 octets without its CRLF (78 where we can). */
const MAX_LINE = 998;
/** Where a line must be cut, in characters: 332 UTF-8 characters stay under 998 octets. */
const CUT_CHARS = 332;

/**
 * A header field folded at spaces to lines of about 78 octets (RFC 5322 §2.2.3); a word longer than the
 * 998-octet limit (a remote server's reply can hold one) is cut, since such a line may not be sent at all.
 */
function foldField(name: string, value: string): string {
  const words = `${name}: ${value.replace(/[\r\n]+/g, ' ')}`.split(' ').flatMap((w) => {
    const parts: string[] = [];
    if (Buffer.byteLength(w) < MAX_LINE - 1) return [w];
    for (let i = 0; i < w.length; i += CUT_CHARS) parts.push(w.slice(i, i + CUT_CHARS));
    return parts;
  });
  const lines: string[] = [];
  let line = words[0]!;
  for (const word of words.slice(1)) {
    if (line.length + 1 + word.length > 78 && line.trim() !== '') {
      lines.push(line);
      line = ` ${word}`;
    } else line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** Text lines over the limit are broken (human-readable parts, where a break changes no meaning). */
function wrapLongLines(text: string): string {
  return text.split('\n').map((l) => {
    if (Buffer.byteLength(l) <= MAX_LINE) return l;
    const parts: string[] = [];
    for (let i = 0; i < l.length; i += CUT_CHARS) parts.push(l.slice(i, i + CUT_CHARS));
    return parts.join('\n');
  }).join('\n');
}

/** Whether any line of `bytes` is longer than 998 octets without its line end. */
function hasLongLine(bytes: Buffer): boolean {
  let start = 0;
  for (;;) {
    const lf = bytes.indexOf(0x0a, start);
    const end = lf < 0 ? bytes.length : lf;
    const len = end - start - (end > start && bytes[end - 1] === 0x0d ? 1 : 0);
    if (len > MAX_LINE) return true;
    if (lf < 0) return false;
    start = lf + 1;
  }
}

/** Header lines cut to 998 octets: a returned header section must still be sendable. */
function cutLongLines(bytes: Buffer): Buffer {
  if (!hasLongLine(bytes)) return bytes;
  const text = bytes.toString('latin1');
  return Buffer.from(text.split('\n').map((l) => {
    const cr = l.endsWith('\r');
    const body = cr ? l.slice(0, -1) : l;
    return (body.length > MAX_LINE ? body.slice(0, MAX_LINE) : body) + (cr ? '\r' : '');
  }).join('\n'), 'latin1');
}

function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `=_postamt_${randomBytes(8).toString('hex')}`;
  const worst = input.recipients.some((r) => r.action === 'failed') ? 'failed' : input.recipients.some((r) => r.action === 'delayed') ? 'delayed' : 'delivered';
  const subject =
    worst === 'failed' ? 'Undelivered Mail Returned to Sender' : worst === 'delayed' ? 'Delayed Mail (still being retried)' : 'Successful Mail Delivery Report';
  const subjectText = subjectOf(input.original);
  const originalSubject = subjectText && subjectText.length > 200 ? `${subjectText.slice(0, 200)}...` : subjectText;

  const human: string[] = [`This is the mail system at host ${input.reportingMta}.`, ''];
  if (worst === 'failed') human.push('I\'m sorry to have to inform you that your message could not', 'be delivered to one or more recipients. It\'s attached below.', '');
  else if (worst === 'delayed') human.push('Your message could not be delivered yet. The mail system will keep trying.', '');
  else human.push('Your message was successfully delivered to the destination(s) listed below.', '');
  if (originalSubject) human.push(`Subject of your message: ${originalSubject}`, '');
  for (const r of input.recipients) {
    human.push(`<${r.address}>: ${r.action}${r.diagnostic ? `: ${r.remoteMta ? `host ${r.remoteMta} said: ` : ''}${r.diagnostic}` : ''}`);
    if (r.willRetryUntil) human.push(`  (will retry until ${formatMailDate(r.willRetryUntil)})`);
  }

  // RFC 3464 §2.2: per-message fields, then one block per recipient (§2.3), separated by blank lines.
  const perMessage = [`Reporting-MTA: dns; ${input.reportingMta}`];
  if (input.envid) perMessage.push(`Original-Envelope-Id: ${encodeXtext(input.envid)}`);
  perMessage.push(`Arrival-Date: ${formatMailDate(input.arrivalDate)}`);
  const blocks = input.recipients.map((r) => {
    const f: string[] = [];
    if (r.orcpt) {
      const semi = r.orcpt.indexOf(';');
      f.push(semi > 0 ? `Original-Recipient: ${r.orcpt.slice(0, semi)}; ${r.orcpt.slice(semi + 1)}` : `Original-Recipient: rfc822; ${r.orcpt}`);
    }
    f.push(`Final-Recipient: ${/[^\x00-\x7f]/.test(r.address) ? 'utf-8' : 'rfc822'}; ${r.address}`);
    f.push(`Action: ${r.action}`);
    f.push(`Status: ${r.status}`);
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${r.remoteMta}`);
    if (r.diagnostic) f.push(foldField('Diagnostic-Code', r.diagnostic.startsWith('X-') ? r.diagnostic : `smtp; ${r.diagnostic}`));
    if (r.lastAttemptAt) f.push(`Last-Attempt-Date: ${formatMailDate(r.lastAttemptAt)}`);
    if (r.willRetryUntil) f.push(`Will-Retry-Until: ${formatMailDate(r.willRetryUntil)}`);
    return f.join('\r\n');
  });
  const status = [perMessage.join('\r\n'), ...blocks].join('\r\n\r\n') + '\r\n';

  const maxFull = input.maxReturnedBytes ?? 10 * 1024 * 1024;
  // The returned message is sent on as it is: a body line over 998 octets (accepted on receipt, RFC 5321
  // §4.5.3.1.6) would make our DSN one that other servers may refuse, so then only the headers go back.
  const full = input.ret === 'FULL' && worst === 'failed' && input.original.length <= maxFull && !hasLongLine(input.original);
  const returned = full ? input.original : cutLongLines(messageHeaders(input.original));
  const eightBit = /[^\x00-\x7f]/.test(status) || returned.some((b) => b > 0x7f);

  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.originalSender}>`,
    `Subject: ${subject}`,
    `Date: ${formatMailDate(input.now)}`,
    `Message-ID: <${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${input.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    ...(eightBit ? ['Content-Transfer-Encoding: 8bit'] : []),
  ];
  const parts = [
    head.join('\r\n') + '\r\n\r\nThis is a MIME-encapsulated message.\r\n',
    `--${boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${toCrlf(wrapLongLines(human.join('\n')))}\r\n`,
    `--${boundary}\r\nContent-Description: Delivery report\r\nContent-Type: ${eightBit ? 'message/global-delivery-status' : 'message/delivery-status'}\r\n\r\n${status}`,
    `--${boundary}\r\nContent-Description: ${full ? 'Undelivered Message' : 'Undelivered Message Headers'}\r\nContent-Type: ${full ? 'message/rfc822' : 'text/rfc822-headers'}\r\n${eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : ''}\r\n`,
  ];
  const tail = `\r\n--${boundary}--\r\n`;
  const returnedCrlf = Buffer.from(toCrlf(returned.toString('latin1')).replace(/(\r\n)*$/, ''), 'latin1');
  return Buffer.concat([Buffer.from(parts.join(''), 'utf8'), returnedCrlf, Buffer.from(tail)]);
}

/** RFC 5321 §6.3: count Received: header fields to detect loops. */
export function countReceivedHeaders(message: Buffer): number {
  const text = messageHeaders(message).toString('latin1');
  return (text.match(/^Received:/gim) ?? []).length;
}
