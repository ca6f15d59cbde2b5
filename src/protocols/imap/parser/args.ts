/**
 * Typed readers over a command's token list (RFC 9051 §9 astring, nstring, list, number, date...).
 * Every reader throws ImapSyntaxError, which the session answers with `tag BAD`.
 */
import { ImapSyntaxError, type Token } from './tokenizer.ts';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export class Args {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  get remaining(): number {
    return this.tokens.length - this.i;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  next(what: string): Token {
    const t = this.tokens[this.i];
    if (t === undefined) throw new ImapSyntaxError(`Missing ${what}`);
    this.i++;
    return t;
  }

  end(): void {
    if (this.i < this.tokens.length) throw new ImapSyntaxError('Too many arguments');
  }

  astring(what: string): string {
    const t = this.next(what);
    if (t.type === 'string') return t.value;
    if (t.type === 'atom' && t.section === undefined) return t.value;
    throw new ImapSyntaxError(`Invalid ${what}`);
  }

  atom(what: string): string {
    const t = this.next(what);
    if (t.type === 'atom' && t.section === undefined) return t.value;
    throw new ImapSyntaxError(`Invalid ${what}`);
  }

  /** An atom if the next token is one whose upper-case value is in `words`. */
  optionalKeyword(...words: string[]): string | null {
    const t = this.peek();
    if (t?.type === 'atom' && t.section === undefined && words.includes(t.value.toUpperCase())) {
      this.i++;
      return t.value.toUpperCase();
    }
    return null;
  }

  list(what: string): Token[] {
    const t = this.next(what);
    if (t.type === 'list') return t.items;
    throw new ImapSyntaxError(`Expected list for ${what}`);
  }

  optionalList(): Token[] | null {
    const t = this.peek();
    if (t?.type === 'list') {
      this.i++;
      return t.items;
    }
    return null;
  }

  number(what: string): number {
    return parseNumber(this.atom(what), what);
  }
}

export function parseNumber(value: string, what: string, max = 2 ** 63): number {
  if (!/^\d{1,20}$/.test(value)) throw new ImapSyntaxError(`Invalid ${what}`);
  const n = Number(value);
  if (n > max) throw new ImapSyntaxError(`Invalid ${what}`);
  return n;
}

/** A token as a string of atoms/strings (flag lists, header names). */
export function tokenText(t: Token, what: string): string {
  if (t.type === 'string') return t.value;
  if (t.type === 'atom' && t.section === undefined) return t.value;
  throw new ImapSyntaxError(`Invalid ${what}`);
}

/** RFC 9051 §9 date: `1-Feb-1994` (atom or quoted); midnight UTC of that day. */
export function parseSearchDate(value: string): Date {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(value);
  const month = m === null ? -1 : MONTHS.indexOf(m[2]!.toLowerCase());
  if (m === null || month < 0) throw new ImapSyntaxError('Invalid date');
  const day = Number(m[1]);
  if (day < 1 || day > 31) throw new ImapSyntaxError('Invalid date');
  return new Date(Date.UTC(Number(m[3]), month, day));
}

/** RFC 9051 §9 date-time: `"17-Jul-1996 02:44:25 -0700"` (APPEND internal date). */
export function parseDateTime(value: string): Date {
  const m = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(value);
  const month = m === null ? -1 : MONTHS.indexOf(m[2]!.toLowerCase());
  if (m === null || month < 0) throw new ImapSyntaxError('Invalid date-time');
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]!.trim()), Number(m[4]), Number(m[5]), Number(m[6]));
  const offsetMin = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  const d = new Date(utc - offsetMin * 60_000);
  if (Number.isNaN(d.getTime())) throw new ImapSyntaxError('Invalid date-time');
  return d;
}

/** RFC 9051 §9 date-time for INTERNALDATE responses, in UTC. */
export function formatDateTime(d: Date): string {
  const day = String(d.getUTCDate()).padStart(2, '0');
  const mon = MONTHS[d.getUTCMonth()]!;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `"${day}-${mon[0]!.toUpperCase()}${mon.slice(1)}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}
