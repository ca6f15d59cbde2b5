/**
 * Who a message is really from: the SPF, DKIM and DMARC results of the Authentication-Results field
 * (RFC 8601) that Postamt put on top when it received the message (it removes fields that claim its
 * name, RFC 8601 §5, so the topmost field is its own).
 */
export interface Verdict { method: 'spf' | 'dkim' | 'dmarc'; result: string; detail: string }

export function parseAuthResults(field: string | null | undefined): Verdict[] {
  if (!field) return [];
  const out: Verdict[] = [];
  // RFC 8601 §2.2: authserv-id first, then ";"-separated resinfo: method=result [reason] [ptype.property=value ...].
  for (const part of field.replace(/\([^)]*\)/g, ' ').split(';').slice(1)) {
    const m = /^\s*(spf|dkim|dmarc)\s*=\s*([a-z]+)(.*)$/is.exec(part);
    if (!m) continue;
    const method = m[1]!.toLowerCase() as Verdict['method'];
    const detail = /(?:smtp\.mailfrom|header\.d|header\.i|header\.from)\s*=\s*(\S+)/i.exec(m[3]!)?.[1] ?? '';
    const had = out.findIndex((v) => v.method === method);
    // RFC 8601 §2.7.2: an spf result for the HELO identity may come first; the MAIL FROM one is the sender's.
    if (had >= 0) {
      if (!out[had]!.detail && detail) out[had] = { method, result: m[2]!.toLowerCase(), detail };
      continue;
    }
    out.push({ method, result: m[2]!.toLowerCase(), detail });
  }
  return out;
}
