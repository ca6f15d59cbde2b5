/**
 * METADATA (RFC 5464): GETMETADATA and SETMETADATA on the server ("") and on mailboxes, with the
 * MAXSIZE and DEPTH options, entry names under /private and /shared, and the limits on entries per
 * mailbox and on value size (NO [METADATA MAXSIZE n] / [METADATA TOOMANY]).
 */
import { bad, no, ok, type CommandContext, type CommandSpec } from '../command.ts';
import { decodeMailboxName, encodeMailboxName } from '../mailbox-name.ts';
import { parseNumber, tokenText, type Args } from '../parser/args.ts';
import { ImapSyntaxError, type Token } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';

const AUTHED = ['authenticated', 'selected'] as const;

/**
 * RFC 5464 §3.2 and §5 (entry syntax): starts with /private or /shared, no `*` or `%`, no `//`, no
 * trailing `/`, printable ASCII. Entry names are compared without regard to case, so they are kept lower-cased.
 */
function parseEntry(text: string): string {
  // Quotes, backslashes, parentheses and braces are refused too, so a name goes back out as an atom.
  if (!/^\/(?:private|shared)(?:\/[\x21-\x7e]+)?$/i.test(text) || /[*%"\\(){}]/.test(text) || text.includes('//') || text.endsWith('/')) {
    throw new ImapSyntaxError(`Invalid metadata entry name ${text}`);
  }
  return text.toLowerCase();
}

/** The mailbox argument: "" is the server itself (RFC 5464 §4.2). */
function mailboxOf(ctx: CommandContext, args: Args): { wire: string; name: string | null } {
  const wire = args.astring('mailbox name');
  if (wire === '') return { wire, name: null };
  const name = decodeMailboxName(wire, { utf8: ctx.session.utf8Names });
  if (name === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
  return { wire, name };
}

function wireMailbox(ctx: CommandContext, name: string | null): string {
  const utf8 = ctx.session.utf8Names;
  return name === null ? '""' : formatString(encodeMailboxName(name, { utf8 }), { utf8 });
}

/** A value as the response carries it: a quoted string when it is short printable ASCII, else a literal (literal8 with NUL). */
function valueParts(value: Buffer): (string | Buffer)[] {
  let plain = value.length <= 1024;
  for (let i = 0; plain && i < value.length; i++) {
    const c = value[i]!;
    plain = c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c;
  }
  if (plain) return [`"${value.toString('latin1')}"`];
  return [`${value.includes(0) ? '~' : ''}{${value.length}}\r\n`, value];
}

function valueOf(t: Token): Buffer | null {
  if (t.type === 'atom' && t.section === undefined && t.value.toUpperCase() === 'NIL') return null;
  if (t.type === 'string') return t.bytes ?? Buffer.from(t.value, 'utf8');
  throw new ImapSyntaxError('Invalid metadata value');
}

export const GETMETADATA: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    let maxSize: number | null = null;
    let depth: 0 | 1 | 'infinity' = 0;
    // RFC 5464 §4.2: the options come first, as a parenthesized list.
    const first = args.peek();
    if (first?.type === 'list') {
      const opts = args.list('options');
      for (let i = 0; i < opts.length; i++) {
        const o = tokenText(opts[i]!, 'option').toUpperCase();
        const v = opts[++i];
        if (v === undefined) throw new ImapSyntaxError(`${o} needs a value`);
        if (o === 'MAXSIZE') maxSize = parseNumber(tokenText(v, 'MAXSIZE'), 'MAXSIZE');
        else if (o === 'DEPTH') {
          const d = tokenText(v, 'DEPTH').toLowerCase();
          if (d !== '0' && d !== '1' && d !== 'infinity') throw new ImapSyntaxError('DEPTH is 0, 1 or infinity');
          depth = d === 'infinity' ? d : d === '1' ? 1 : 0;
        } else throw new ImapSyntaxError(`Unknown GETMETADATA option ${o}`);
      }
    }
    const { name } = mailboxOf(ctx, args);
    const t = args.next('entries');
    args.end();
    const requested = (t.type === 'list' ? t.items : [t]).map((e) => {
      const text = tokenText(e, 'entry');
      return { text, entry: parseEntry(text) };
    });
    if (requested.length === 0) throw new ImapSyntaxError('No entries');
    const stored = await ctx.session.account!.getMetadata(name);
    if (stored === null) return no('No such mailbox', 'NONEXISTENT');
    const byName = new Map(stored.map((e) => [e.entry, e.value]));
    const out = new Map<string, Buffer | null>();
    let longest = 0;
    const add = (label: string, value: Buffer | null): void => {
      if (out.has(label)) return;
      // RFC 5464 §4.2.1: values over MAXSIZE are left out and the largest such size is reported.
      if (value !== null && maxSize !== null && value.length > maxSize) longest = Math.max(longest, value.length);
      else out.set(label, value);
    };
    for (const r of requested) {
      const own = byName.get(r.entry);
      // RFC 5464 §4.2: an entry without a value is returned as NIL.
      if (own !== undefined || depth === 0) add(r.text, own ?? null);
      if (depth === 0) continue;
      // RFC 5464 §4.2.2: DEPTH 1 adds the entry's children, infinity every descendant.
      const prefix = r.entry + '/';
      for (const e of stored) {
        if (!e.entry.startsWith(prefix)) continue;
        if (depth === 1 && e.entry.indexOf('/', prefix.length) >= 0) continue;
        add(e.entry, e.value);
      }
    }
    if (out.size > 0) {
      const parts: (string | Buffer)[] = [`* METADATA ${wireMailbox(ctx, name)} (`];
      for (const [label, value] of out) {
        parts.push(`${parts.length === 1 ? '' : ' '}${label} `);
        if (value === null) parts.push('NIL');
        else parts.push(...valueParts(value));
      }
      parts.push(')\r\n');
      ctx.raw(...parts);
    }
    return longest > 0 ? ok('GETMETADATA completed', `METADATA LONGENTRIES ${longest}`) : ok('GETMETADATA completed');
  },
};

export const SETMETADATA: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const { name } = mailboxOf(ctx, args);
    const list = args.list('entries and values');
    args.end();
    if (list.length === 0 || list.length % 2 !== 0) throw new ImapSyntaxError('Expected entry value pairs');
    const changes: { entry: string; value: Buffer | null }[] = [];
    const { maxMetadataValueBytes, maxMetadataEntries } = ctx.session.limits;
    for (let i = 0; i < list.length; i += 2) {
      const entry = parseEntry(tokenText(list[i]!, 'entry'));
      // RFC 5464 §3.2: /private and /shared themselves are not entries that hold a value.
      if (entry === '/private' || entry === '/shared') return bad('Cannot set a top-level entry');
      const value = valueOf(list[i + 1]!);
      // RFC 5464 §4.3: a value over the limit is refused with the largest size accepted.
      if (value !== null && value.length > maxMetadataValueBytes) return no('Value too long', `METADATA MAXSIZE ${maxMetadataValueBytes}`);
      changes.push({ entry, value });
    }
    const stored = await ctx.session.account!.setMetadata(name, changes, { maxEntries: maxMetadataEntries });
    // RFC 5464 §4.3: TOOMANY, the server or the mailbox holds as many entries as it may.
    if (!stored) return no(`At most ${maxMetadataEntries} entries per mailbox`, 'METADATA TOOMANY');
    return ok('SETMETADATA completed');
  },
};
