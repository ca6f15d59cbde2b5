/**
 * Commands about the connection rather than a mailbox: CAPABILITY, NOOP, LOGOUT, ENABLE (RFC 5161),
 * ID (RFC 2971), COMPRESS (RFC 4978), NAMESPACE (RFC 2342).
 */
import { bad, no, ok, type CommandSpec } from '../command.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';

const ANY = ['not-authenticated', 'authenticated', 'selected'] as const;
const AUTHED = ['authenticated', 'selected'] as const;

export const CAPABILITY: CommandSpec = {
  states: ANY,
  async handle(ctx, args) {
    args.end();
    ctx.untagged(`CAPABILITY ${ctx.session.capabilities().join(' ')}`);
    return ok('CAPABILITY completed');
  },
};

export const NOOP: CommandSpec = {
  states: ANY,
  async handle(_ctx, args) {
    args.end();
    return ok('NOOP completed');
  },
};

export const CHECK: CommandSpec = {
  states: ['selected'],
  async handle(_ctx, args) {
    args.end();
    return ok('CHECK completed');
  },
};

export const LOGOUT: CommandSpec = {
  states: ANY,
  async handle(ctx, args) {
    args.end();
    ctx.untagged('BYE Logging out');
    ctx.session.closed();
    return { status: 'OK', text: 'LOGOUT completed', then: 'close' };
  },
};

const ENABLEABLE = new Set(['CONDSTORE', 'QRESYNC', 'IMAP4REV2', 'UIDONLY']);

export const ENABLE: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    if (args.remaining === 0) throw new ImapSyntaxError('Missing capability');
    const newly: string[] = [];
    while (args.remaining > 0) {
      const cap = args.atom('capability').toUpperCase();
      // RFC 5161 §3.1: unknown capabilities are ignored; RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
      const list = cap === 'QRESYNC' ? ['CONDSTORE', 'QRESYNC'] : [cap];
      for (const c of list) {
        if (ENABLEABLE.has(c) && !ctx.session.enabled.has(c)) {
          ctx.session.enabled.add(c);
          newly.push(c === 'IMAP4REV2' ? 'IMAP4rev2' : c);
        }
      }
    }
    ctx.untagged(`ENABLED${newly.map((c) => ' ' + c).join('')}`);
    return ok('ENABLE completed');
  },
};

export const ID: CommandSpec = {
  states: ANY,
  async handle(ctx, args) {
    const t = args.next('parameter list');
    if (!(t.type === 'list' || (t.type === 'atom' && t.value.toUpperCase() === 'NIL'))) throw new ImapSyntaxError('Invalid ID parameters');
    // RFC 2971 §3.3: at most 30 pairs, field names up to 30 octets.
    if (t.type === 'list' && (t.items.length > 60 || t.items.length % 2 !== 0)) throw new ImapSyntaxError('Invalid ID parameters');
    args.end();
    ctx.untagged('ID ("name" "Postamt" "vendor" "Postamt")');
    return ok('ID completed');
  },
};

export const COMPRESS: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const mech = args.atom('mechanism').toUpperCase();
    args.end();
    if (mech !== 'DEFLATE') return bad('Unsupported compression mechanism');
    // RFC 4978 §3: only once per connection.
    if (ctx.session.compressed) return no('Compression already active', 'COMPRESSIONACTIVE');
    ctx.session.compressed = true;
    return { status: 'OK', text: 'DEFLATE active', then: 'deflate' };
  },
};

export const NAMESPACE: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    args.end();
    ctx.untagged('NAMESPACE (("" "/")) NIL NIL');
    return ok('NAMESPACE completed');
  },
};
