/**
 * Tokenizes a framed IMAP command (RFC 9051 §9 formal syntax) into tag, verb and a generic token
 * tree: atoms (with FETCH section specs `[...]<o.n>`), quoted strings, literals and lists.
 * Commands interpret the tree with `Args` (args.ts). Nesting depth is bounded.
 */
import type { CommandFrame } from './framer.ts';

export type Token =
  | { type: 'atom'; value: string; section?: Token[]; partial?: { offset: number; length: number | null } }
  | { type: 'string'; value: string; bytes?: Buffer }
  | { type: 'literal-stream'; size: number }
  | { type: 'list'; items: Token[] };

export class ImapSyntaxError extends Error {
  /** A response code for the BAD, e.g. UIDREQUIRED (RFC 9586 §3). */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'ImapSyntaxError';
    this.code = code;
  }
}

export interface ParsedCommand {
  tag: string;
  /** Upper-case; `UID FETCH` etc. are joined with a space. */
  verb: string;
  args: Token[];
}

const SECTION_ATOMS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

const TAG_RE = /^[!#$&',-.0-9:;<=>?@A-Z[^_`a-z|~\]]+$/;

export function tokenizeCommand(frame: CommandFrame, options: { maxDepth: number }): ParsedCommand {
  const cur = new Cursor(frame, options.maxDepth);
  const tag = cur.readWord();
  if (tag === '' || !TAG_RE.test(tag)) throw new ImapSyntaxError('Invalid tag');
  if (!cur.eatSpace()) throw new ImapSyntaxError('Missing command');
  let verb = cur.readWord().toUpperCase();
  if (verb === '') throw new ImapSyntaxError('Missing command');
  if (verb === 'UID') {
    if (!cur.eatSpace()) throw new ImapSyntaxError('Missing UID command');
    verb = `UID ${cur.readWord().toUpperCase()}`;
  }
  const args: Token[] = [];
  while (!cur.atEnd()) {
    if (!cur.eatSpace()) throw new ImapSyntaxError('Expected space');
    args.push(cur.readToken(0));
  }
  return { tag, verb, args };
}

class Cursor {
  private part = 0;
  private pos = 0;
  constructor(
    private readonly frame: CommandFrame,
    private readonly maxDepth: number,
  ) {}

  private get text(): string {
    return this.frame.texts[this.part]!;
  }

  atEnd(): boolean {
    return this.part === this.frame.texts.length - 1 && this.pos >= this.text.length;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  eatSpace(): boolean {
    if (this.peek() !== ' ') return false;
    this.pos++;
    return true;
  }

  /** Characters up to the next space (tag, verb). */
  readWord(): string {
    const start = this.pos;
    while (this.pos < this.text.length && this.text[this.pos] !== ' ') this.pos++;
    return this.text.slice(start, this.pos);
  }

  readToken(depth: number, inSection = false): Token {
    const c = this.peek();
    if (c === '(') {
      if (depth >= this.maxDepth) throw new ImapSyntaxError('Too deeply nested');
      this.pos++;
      const items: Token[] = [];
      for (;;) {
        if (this.peek() === ')') {
          this.pos++;
          return { type: 'list', items };
        }
        if (items.length > 0 && !this.eatSpace()) throw new ImapSyntaxError('Expected space or ) in list');
        if (this.atEndOfText()) throw new ImapSyntaxError('Unterminated list');
        items.push(this.readToken(depth + 1, inSection));
      }
    }
    if (c === '"') return this.readQuoted();
    if (c === '{' || (c === '~' && this.text[this.pos + 1] === '{')) return this.readLiteral();
    if (c === '') throw new ImapSyntaxError('Unexpected end of command');
    return this.readAtom(depth, inSection);
  }

  private atEndOfText(): boolean {
    return this.pos >= this.text.length && !(this.part < this.frame.texts.length - 1);
  }

  private readQuoted(): Token {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw new ImapSyntaxError('Unterminated quoted string');
      this.pos++;
      if (c === '"') return { type: 'string', value: out };
      if (c === '\\') {
        const n = this.text[this.pos];
        // RFC 9051 §9: quoted-specials are the only escapable characters.
        if (n !== '"' && n !== '\\') throw new ImapSyntaxError('Invalid escape in quoted string');
        out += n;
        this.pos++;
        continue;
      }
      out += c;
    }
  }

  private readLiteral(): Token {
    const rest = this.text.slice(this.pos);
    const m = /^~?\{(\d+)[+-]?\}$/.exec(rest);
    if (m === null || this.part >= this.frame.literals.length) throw new ImapSyntaxError('Invalid literal');
    const lit = this.frame.literals[this.part]!;
    this.part++;
    this.pos = 0;
    if (Buffer.isBuffer(lit)) return { type: 'string', value: lit.toString('utf8'), bytes: lit };
    return { type: 'literal-stream', size: lit.size };
  }

  private readAtom(depth: number, inSection: boolean): Token {
    const start = this.pos;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === ' ' || c === '(' || c === ')' || c === '"' || c === '{') break;
      if (inSection && c === ']') break;
      if (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) throw new ImapSyntaxError('Control character in atom');
      if (c === '[') {
        // `[` is an ordinary ATOM-CHAR (`[Gmail]/Sent`) except after a FETCH section keyword.
        const value = this.text.slice(start, this.pos);
        if (SECTION_ATOMS.has(value.toUpperCase())) return this.readSection(value, depth);
      }
      this.pos++;
    }
    const value = this.text.slice(start, this.pos);
    if (value === '') throw new ImapSyntaxError(`Unexpected character ${JSON.stringify(this.peek())}`);
    return { type: 'atom', value };
  }

  /** `BODY[1.HEADER.FIELDS (A B)]<0.100>`: RFC 9051 §6.4.5 section and partial. */
  private readSection(value: string, depth: number): Token {
    if (depth >= this.maxDepth) throw new ImapSyntaxError('Too deeply nested');
    this.pos++; // [
    const section: Token[] = [];
    for (;;) {
      if (this.peek() === ']') {
        this.pos++;
        break;
      }
      if (section.length > 0 && !this.eatSpace()) throw new ImapSyntaxError('Expected ] after section');
      if (this.atEndOfText()) throw new ImapSyntaxError('Unterminated section');
      section.push(this.readToken(depth + 1, true));
    }
    const token: Token = { type: 'atom', value, section };
    if (this.peek() === '<') {
      const m = /^<(\d{1,10})(?:\.(\d{1,10}))?>/.exec(this.text.slice(this.pos));
      if (m === null) throw new ImapSyntaxError('Invalid partial');
      this.pos += m[0].length;
      token.partial = { offset: Number(m[1]), length: m[2] === undefined ? null : Number(m[2]) };
    }
    const c = this.peek();
    if (c !== '' && c !== ' ' && c !== ')') throw new ImapSyntaxError('Unexpected characters after section');
    return token;
  }
}
