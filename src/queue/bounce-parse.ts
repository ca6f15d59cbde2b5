/**
 * Reading bounces that come back: RFC 3464 message/delivery-status reports first, then the common
 * non-standard text formats (Postfix, qmail, Exim, Sendmail-like) for the failed recipients and their status.
 */

export interface ParsedBounceRecipient {
  address: string;
  action: string; // failed | delayed | delivered | relayed | expanded
  status: string | null; // RFC 3463 code, e.g. 5.1.1
  diagnostic: string | null;
}

export interface ParsedBounce {
  format: 'rfc3464' | 'postfix' | 'qmail' | 'exim' | 'generic';
  recipients: ParsedBounceRecipient[];
}

/** Permanent failures worth suppressing: Action failed with a 5.x.x status. */
export function isHardBounce(r: ParsedBounceRecipient): boolean {
  return r.action === 'failed' && (r.status === null || r.status.startsWith('5'));
}

function headerEndIndex(text: string): number {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? m.index + m[0].length : text.length;
}

function unfold(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return fields;
}

/** The message/delivery-status part's body, found by plain searches (linear in the input, no backtracking). */
function findDeliveryStatus(text: string): string | null {
  const lower = text.toLowerCase();
  const at = lower.search(/content-type:\s*message\/(?:global-)?delivery-status/);
  if (at < 0) return null;
  const headerEnd = /\r?\n\r?\n/.exec(text.slice(at));
  if (!headerEnd) return null;
  const start = at + headerEnd.index + headerEnd[0].length;
  const boundary = /\r?\n--[^\r\n]+/.exec(text.slice(start));
  return text.slice(start, boundary ? start + boundary.index : text.length);
}

function stripType(value: string): string {
  return value.replace(/^[A-Za-z0-9-]+;\s*/, '').replace(/^<|>$/g, '').trim();
}

function decodeQp(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Reports put what matters up front; scanning more only gives hostile input room (the fuzzer found quadratic cases). */
const MAX_SCAN_CHARS = 128 * 1024;
const MAX_LINE_CHARS = 1000;

export function parseBounce(message: Buffer | string): ParsedBounce | null {
  const full = typeof message === 'string' ? message : message.toString('utf8');
  const text = full.length > MAX_SCAN_CHARS ? full.slice(0, MAX_SCAN_CHARS) : full;
  const ds = findDeliveryStatus(text);
  if (ds) {
    const blocks = ds.split(/\r?\n\s*\r?\n/).map(unfold);
    const recipients = blocks.slice(1).flatMap((f): ParsedBounceRecipient[] => {
      const final = f.get('final-recipient') ?? f.get('original-recipient');
      if (!final) return [];
      const diag = f.get('diagnostic-code');
      return [{ address: stripType(final).toLowerCase(), action: (f.get('action') ?? 'failed').toLowerCase(), status: f.get('status')?.match(/\d\.\d{1,3}\.\d{1,3}/)?.[0] ?? null, diagnostic: diag ? stripType(diag) : null }];
    });
    if (recipients.length > 0) return { format: 'rfc3464', recipients };
  }
  const body = decodeQp(text.slice(headerEndIndex(text)));
  const statusIn = (s: string) => s.match(/\b([245]\.\d{1,3}\.\d{1,3})\b/)?.[1] ?? null;
  const found: ParsedBounceRecipient[] = [];
  // Postfix: "<alice@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 ..." (maybe wrapped).
  if (/This is the mail system at host|Postfix program/i.test(body)) {
    for (const m of body.matchAll(/^<([^>\s@]+@[^>\s]+)>(?:\s*\(expanded from[^)]*\))?:\s*([\s\S]*?)(?=\r?\n\r?\n|\r?\n<|$)/gm)) {
      const diag = m[2]!.replace(/\s+/g, ' ').trim();
      found.push({ address: m[1]!.toLowerCase(), action: 'failed', status: statusIn(diag), diagnostic: diag });
    }
    if (found.length) return { format: 'postfix', recipients: found };
  }
  // qmail: "Hi. This is the qmail-send program ..." then "<alice@example.org>:\n<reason> (#5.1.1)".
  if (/qmail-send program/i.test(body)) {
    for (const m of body.matchAll(/^<([^>\s@]+@[^>\s]+)>:\r?\n([\s\S]*?)(?=\r?\n\r?\n|\r?\n<|$)/gm)) {
      const diag = m[2]!.replace(/\s+/g, ' ').trim();
      found.push({ address: m[1]!.toLowerCase(), action: 'failed', status: statusIn(diag), diagnostic: diag });
    }
    if (found.length) return { format: 'qmail', recipients: found };
  }
  // Exim: "... could not be delivered to one or more of its recipients ...\n\n  alice@example.org\n    host ...: 550 ..."
  if (/could not be delivered to one or more of its\s+recipients/i.test(body)) {
    for (const m of body.matchAll(/^ {2}([^\s@]+@[^\s@]+)\r?\n((?: {4}.*\r?\n?)*)/gm)) {
      const diag = m[2]!.replace(/\s+/g, ' ').trim() || null;
      found.push({ address: m[1]!.replace(/^<|>$/g, '').toLowerCase(), action: 'failed', status: diag ? statusIn(diag) : null, diagnostic: diag });
    }
    if (found.length) return { format: 'exim', recipients: found };
  }
  // Generic: "550 5.1.1 <alice@example.org>... User unknown" (Sendmail and others).
  for (const line of body.split('\n')) {
    if (line.length > MAX_LINE_CHARS || !line.includes('<')) continue;
    const m = /\b(5\d\d)[ -](5\.\d{1,3}\.\d{1,3})?[^\n]*?<([^>\s@]+@[^>\s]+)>/.exec(line);
    if (m) found.push({ address: m[3]!.toLowerCase(), action: 'failed', status: m[2] ?? `5.0.0`, diagnostic: line.trim() });
  }
  return found.length ? { format: 'generic', recipients: found } : null;
}

/**
 * An inbound bounce to `envelopeRecipient`: when it is a VERP address, the encoded recipient is the one that
 * failed (even if the report is unreadable); otherwise the parsed hard failures. Adds them to the suppression list.
 */
export async function suppressFromBounce(
  input: { envelopeRecipient: string; message: Buffer; decodeVerp: (address: string) => { recipient: string } | null },
  suppression: { addSuppression(address: string, reason: string): Promise<void> },
): Promise<string[]> {
  const parsed = parseBounce(input.message);
  const verp = input.decodeVerp(input.envelopeRecipient);
  const added: string[] = [];
  if (verp) {
    const entry = parsed?.recipients.find((r) => r.address === verp.recipient.toLowerCase()) ?? parsed?.recipients[0];
    if (entry && !isHardBounce(entry)) return added;
    await suppression.addSuppression(verp.recipient.toLowerCase(), `bounce via VERP: ${entry?.status ?? 'unknown status'} ${entry?.diagnostic ?? ''}`.trim());
    added.push(verp.recipient.toLowerCase());
    return added;
  }
  for (const r of parsed?.recipients ?? []) {
    if (!isHardBounce(r)) continue;
    await suppression.addSuppression(r.address, `bounce (${parsed!.format}): ${r.status ?? ''} ${r.diagnostic ?? ''}`.trim());
    added.push(r.address);
  }
  return added;
}
