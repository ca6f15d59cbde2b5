/**
 * SMTP replies as the client sees them: a line framer that assembles multi-line replies
 * (RFC 5321 §4.2.1) with bounded sizes, and the `SmtpReply` value the client engine works with.
 */

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code when the reply carries one (RFC 2034), else null. */
  enhancedCode: string | null;
  /** The text of every line, without code and separator (and without the enhanced code). */
  lines: string[];
  /** True when Postamt made this reply up (e.g. SIZE precheck, timeout): no remote server said it. */
  local?: boolean;
}

export interface ReplyParserOptions {
  /** RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; we accept more, up to this bound. */
  maxLineBytes?: number;
  maxLines?: number;
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/;

export function makeReply(code: number, enhancedCode: string | null, text: string, options: { local?: boolean } = {}): SmtpReply {
  return { code, enhancedCode, lines: text.split('\n'), ...(options.local ? { local: true } : {}) };
}

export function isPositive(reply: SmtpReply): boolean {
  return reply.code >= 200 && reply.code < 400;
}

export function isTransient(reply: SmtpReply): boolean {
  return reply.code >= 400 && reply.code < 500;
}

/** `550 5.1.1 text` — the first line, for logs, lastResult and Diagnostic-Code. */
export function formatReply(reply: SmtpReply): string {
  const text = reply.lines.join(' ').replace(/[\r\n]+/g, ' ').trim();
  return [String(reply.code), reply.enhancedCode ?? '', text].filter((s) => s.length > 0).join(' ');
}

/** Parses `formatReply` output back (used for lastResult stored in the queue). */
export function parseReplyText(text: string): SmtpReply | null {
  const m = /^([2-5]\d\d)(?:\s+(.*))?$/s.exec(text.trim());
  if (!m) return null;
  let rest = m[2] ?? '';
  let enhanced: string | null = null;
  const e = ENHANCED.exec(rest);
  if (e && e[1] === m[1]![0]) {
    enhanced = `${e[1]}.${e[2]}.${e[3]}`;
    rest = rest.slice(e[0].length);
  }
  return { code: Number(m[1]), enhancedCode: enhanced, lines: [rest] };
}

export class ReplyParser {
  readonly #maxLineBytes: number;
  readonly #maxLines: number;
  #partial = '';
  #lines: string[] = [];
  #code = 0;

  constructor(options: ReplyParserOptions = {}) {
    this.#maxLineBytes = options.maxLineBytes ?? 4096;
    this.#maxLines = options.maxLines ?? 200;
  }

  /**
   * Feeds bytes; returns the complete replies. A malformed or oversized reply yields a local
   * `code: 0` reply, after which the connection must be dropped.
   */
  feed(chunk: Buffer): SmtpReply[] {
    const out: SmtpReply[] = [];
    this.#partial += chunk.toString('latin1');
    let idx: number;
    while ((idx = this.#partial.indexOf('\n')) >= 0) {
      const line = this.#partial.slice(0, idx).replace(/\r$/, '');
      this.#partial = this.#partial.slice(idx + 1);
      const reply = this.#line(line);
      if (reply) out.push(reply);
      if (reply?.code === 0) return out;
    }
    if (this.#partial.length > this.#maxLineBytes) {
      this.#partial = '';
      out.push(makeReply(0, null, 'reply line too long', { local: true }));
    }
    return out;
  }

  #line(raw: string): SmtpReply | null {
    const line = Buffer.from(raw, 'latin1').toString('utf8');
    // RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
    const m = /^([2-5][0-5]\d)([ -]|$)(.*)$/.exec(line);
    if (!m || raw.length > this.#maxLineBytes) return this.#malformed(`malformed reply: ${line.slice(0, 80)}`);
    const code = Number(m[1]);
    if (this.#lines.length > 0 && code !== this.#code) return this.#malformed('reply code changed within a multi-line reply');
    this.#code = code;
    this.#lines.push(m[3] ?? '');
    if (this.#lines.length > this.#maxLines) return this.#malformed('too many reply lines');
    if (m[2] === '-') return null;
    const lines = this.#lines;
    this.#lines = [];
    let enhanced: string | null = null;
    const e = ENHANCED.exec(lines[0] ?? '');
    // RFC 3463 §2: the class of the enhanced code matches the first digit of the reply code.
    if (e && e[1] === m[1]![0]) {
      enhanced = `${e[1]}.${e[2]}.${e[3]}`;
      for (let i = 0; i < lines.length; i++) {
        const le = ENHANCED.exec(lines[i]!);
        if (le) lines[i] = lines[i]!.slice(le[0].length);
      }
    }
    return { code, enhancedCode: enhanced, lines };
  }

  #malformed(text: string): SmtpReply {
    this.#lines = [];
    return makeReply(0, null, text, { local: true });
  }
}
