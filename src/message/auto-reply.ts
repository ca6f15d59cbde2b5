/**
 * Automatic replies (RFC 3834) as a vacation response sends them: whether a received message may be
 * answered at all (the loop and list rules of RFC 3834 §2 and RFC 5230 §4.5-§4.6), and the reply itself.
 */
import { parseAddressList, type AddressOrGroup } from './address.ts';
import { composeMessage, encodeHeaderText, formatAddresses, formatDate, newMessageId, type ComposePart } from './compose.ts';
import { decodeHeaderValue } from './encoded-words.ts';
import { headerValue, type HeaderField } from './header-fields.ts';

/** Addresses read from one recipient field at most (the check stops there). */
const MAX_ADDRESSES = 1000;

function addressesOf(fields: readonly HeaderField[], names: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const f of fields) {
    if (!names.includes(f.name.toLowerCase())) continue;
    const flat = (list: AddressOrGroup[]): void => {
      for (const a of list) {
        if (a.kind === 'group') flat(a.members);
        else if (a.domain !== null) out.add(a.address.toLowerCase());
      }
    };
    flat(parseAddressList(f.value, { maxAddresses: MAX_ADDRESSES }));
  }
  return out;
}

/** RFC 5233: "user+tag@domain" is "user@domain" when deciding whether the message names the user. */
function withoutDetail(address: string): string {
  const at = address.lastIndexOf('@');
  const plus = address.indexOf('+');
  return plus > 0 && plus < at ? address.slice(0, plus) + address.slice(at) : address;
}

/**
 * Why a received message must not be answered automatically, or null when it may be. `sender` is the
 * envelope sender (the reply goes there, RFC 3834 §4); `recipients` are the addresses of the account the
 * message reached (its own address, the envelope recipients that led to it).
 */
export function autoReplyRefusal(input: { sender: string; fields: readonly HeaderField[]; recipients: readonly string[] }): string | null {
  const sender = input.sender.toLowerCase();
  // RFC 3834 §2: never answer a null return path (bounces, other automatic replies: RFC 3834 §3.3).
  if (sender === '' || !sender.includes('@')) return 'null_sender';
  const local = sender.slice(0, sender.lastIndexOf('@'));
  // RFC 5230 §4.6: mail from daemons, list owners and list request handlers is not answered.
  if (local === 'mailer-daemon' || local === 'listserv' || local === 'majordomo' || local.startsWith('owner-') || local.endsWith('-request')) return 'system_sender';
  const fields = input.fields;
  // RFC 3834 §2, §5: anything automatically submitted (Auto-Submitted other than "no").
  const autoSubmitted = headerValue(fields, 'auto-submitted');
  if (autoSubmitted !== null && autoSubmitted.replace(/\(.*?\)/g, '').trim().split(/[;\s]/)[0]!.toLowerCase() !== 'no') return 'auto_submitted';
  // RFC 3834 §2 / RFC 5230 §4.5: list mail (RFC 2919 List-Id, RFC 2369 List-*) and bulk precedence.
  if (fields.some((f) => /^list-(id|help|subscribe|unsubscribe|post|owner|archive)$/i.test(f.name))) return 'list_mail';
  const precedence = headerValue(fields, 'precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'list' || precedence === 'junk') return 'bulk_precedence';
  // RFC 5230 §4.5: only when the user's address is in To, Cc, Bcc or their Resent- forms.
  const named = new Set([...addressesOf(fields, ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'])].map(withoutDetail));
  const own = input.recipients.map((r) => withoutDetail(r.toLowerCase()));
  if (!own.some((r) => named.has(r))) return 'not_addressed';
  // RFC 3834 §2: never answer oneself.
  if (own.includes(withoutDetail(sender))) return 'own_message';
  return null;
}

export interface VacationText {
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

/**
 * The reply (RFC 3834 §3): From the user's address, To the sender, "Re: " and the original subject
 * unless the response has its own, In-Reply-To and References naming the original, and
 * Auto-Submitted: auto-replied. It is sent with a null envelope sender (RFC 3834 §3.3).
 */
export function composeAutoReply(input: { from: string; to: string; original: readonly HeaderField[]; vacation: VacationText; now: Date }): Buffer {
  const { original, vacation } = input;
  const originalSubject = decodeHeaderValue(headerValue(original, 'subject') ?? '').trim();
  // RFC 3834 §3.1.5: a subject that shows it is a reply; "Re: " once.
  const subject = vacation.subject !== null && vacation.subject.trim() !== '' ? vacation.subject : `Re: ${originalSubject.replace(/^(re:\s*)+/i, '')}`.trimEnd();
  const messageId = headerValue(original, 'message-id')?.match(/<[^<>\s]+>/)?.[0] ?? null;
  const references = (headerValue(original, 'references') ?? headerValue(original, 'in-reply-to') ?? '').match(/<[^<>\s]+>/g) ?? [];
  const domain = input.from.slice(input.from.lastIndexOf('@') + 1);
  const headers: [string, string][] = [
    ['From', formatAddresses([{ name: null, email: input.from }])],
    ['To', formatAddresses([{ name: null, email: input.to }])],
    ['Subject', encodeHeaderText(subject)],
    ['Date', formatDate(input.now)],
    ['Message-ID', newMessageId(domain)],
  ];
  // RFC 3834 §3.1.3-§3.1.4: In-Reply-To is the original's Message-ID, References its references plus it.
  if (messageId !== null) headers.push(['In-Reply-To', messageId], ['References', [...references.slice(-20), messageId].join('\r\n ')]);
  // RFC 3834 §5.1: the reply says it is automatic, so other responders do not answer it.
  headers.push(['Auto-Submitted', 'auto-replied']);
  const text = (value: string, type: string): ComposePart => ({ kind: 'leaf', type, charset: 'utf-8', headers: [], body: Buffer.from(value), name: null, disposition: null, cid: null });
  const plain = vacation.textBody ?? (vacation.htmlBody === null ? '' : htmlToPlain(vacation.htmlBody));
  const body: ComposePart = vacation.htmlBody === null ? text(plain, 'text/plain')
    : { kind: 'multipart', subtype: 'alternative', headers: [], parts: [text(plain, 'text/plain'), text(vacation.htmlBody, 'text/html')] };
  return composeMessage(headers, body);
}

/** RFC 8621 §8: with only an HTML body, the server derives the plain text part from it. */
function htmlToPlain(html: string): string {
  return html.replace(/<(br|\/p|\/div)[^>]*>/gi, '\n').replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&').trim();
}
