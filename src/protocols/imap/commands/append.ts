/**
 * APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315) and APPENDLIMIT (RFC 7889). The message
 * literal was streamed into the backend's sink by the framer; OK is sent only after the durable commit.
 */
import { ImapBackendError } from '../backend.ts';
import { no, ok, type CommandSpec } from '../command.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { parseDateTime, tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { normalizeFlag } from '../response.ts';

export const APPEND: CommandSpec = {
  states: ['authenticated', 'selected'],
  async handle(ctx, args) {
    const s = ctx.session;
    const wire = args.astring('mailbox name');
    const flags: string[] = [];
    for (const t of args.optionalList() ?? []) {
      const f = normalizeFlag(tokenText(t, 'flag'));
      if (f === null) throw new ImapSyntaxError('Invalid flag');
      if (!flags.includes(f)) flags.push(f);
    }
    let internalDate: Date | null = null;
    let t = args.next('message literal');
    if (t.type === 'string' && t.bytes === undefined) {
      internalDate = parseDateTime(t.value);
      t = args.next('message literal');
    }
    args.end();
    let sink = s.pendingAppend;
    s.pendingAppend = null; // this command owns it now
    if (t.type === 'string' && t.bytes !== undefined && sink === null) {
      if (t.bytes.length > s.limits.appendLimit) return no('Message too big', 'TOOBIG');
      sink = s.account!.beginAppend();
      sink.write(t.bytes);
    } else if (t.type !== 'literal-stream' || sink === null) {
      sink?.abort();
      throw new ImapSyntaxError('Message must be a literal');
    }
    const name = decodeMailboxName(wire, { utf8: s.utf8Names });
    if (name === null) {
      sink.abort();
      throw new ImapSyntaxError('Invalid mailbox name encoding');
    }
    // RFC 9051 §6.3.12: a zero-length message is refused.
    if (sink.size === 0) {
      sink.abort();
      return no('Empty message', 'CANNOT');
    }
    try {
      const r = await sink.commit({ mailbox: name, flags, internalDate });
      return ok('APPEND completed', `APPENDUID ${r.uidValidity} ${r.uid}`);
    } catch (err) {
      sink.abort();
      // RFC 9051 §6.3.12: [TRYCREATE] when the destination does not exist.
      if (err instanceof ImapBackendError && err.code === 'NONEXISTENT') return no('No such mailbox', 'TRYCREATE');
      throw err;
    }
  },
};
