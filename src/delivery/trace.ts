/**
 * Trace headers added on acceptance: `Received:` (RFC 5321 §4.4, with RFC 3848 `with` keywords) and
 * `Return-Path:` at final delivery (RFC 5321 §4.4).
 */

export interface ReceivedInput {
  helo: string | null;
  remoteAddress: string;
  /** The client's verified reverse DNS name, when known. */
  remoteName?: string | null;
  hostname: string;
  /** RFC 3848: SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA (and LMTP variants). */
  protocol: string;
  tls?: { protocol: string; cipher: string } | null;
  id: string;
  /** Only given when there is exactly one recipient (privacy: RFC 5321 §7.2). */
  forRecipient?: string | null;
  date: Date;
  /** 'full' shows the client's HELO and IP; 'minimal' hides them (submission privacy). */
  detail?: 'full' | 'minimal';
}

export function receivedHeader(input: ReceivedInput): string {
  const parts: string[] = [];
  if (input.detail !== 'minimal') {
    const helo = sanitize(input.helo ?? 'unknown');
    const ip = input.remoteAddress.includes(':') ? `IPv6:${input.remoteAddress}` : input.remoteAddress;
    parts.push(`from ${helo} (${input.remoteName ? `${sanitize(input.remoteName)} ` : ''}[${ip}])`);
  }
  parts.push(`by ${input.hostname} (Postamt)`);
  parts.push(`with ${input.protocol}${input.tls ? ` (${input.tls.protocol}, ${sanitize(input.tls.cipher)})` : ''}`);
  parts.push(`id ${input.id}`);
  if (input.forRecipient) parts.push(`for <${sanitize(input.forRecipient)}>`);
  const head = `Received: ${parts.join('\r\n\t')}`;
  return `${head};\r\n\t${formatRfc5322Date(input.date)}\r\n`;
}

export function returnPathHeader(reversePath: string): string {
  return `Return-Path: <${sanitize(reversePath)}>\r\n`;
}

/** Keeps header text on one line and free of characters that would break the header. */
function sanitize(text: string): string {
  return text.replace(/[\r\n\0]/g, '').replace(/[()\\]/g, '').slice(0, 255);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** RFC 5322 §3.3 date-time in UTC: `Mon, 23 Nov 2026 19:45:00 +0000`. */
export function formatRfc5322Date(date: Date): string {
  return `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}
