/**
 * APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889) and MULTIAPPEND (RFC 3502:
 * several messages, all stored or none). The message literals were streamed into the backend's sinks by
 * the framer; OK is sent only after the durable commit.
 */
import { ImapBackendError, type ImapAppendSink } from '../backend.ts';
import { finishBinary } from '../binary-append.ts';
import { no, ok, type CommandSpec } from '../command.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { parseDateTime, tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { normalizeFlag } from '../response.ts';
import { formatSequenceSet } from '../sequence-set.ts';

interface AppendMessage {
  sink: ImapAppendSink;
  flags: string[];
  internalDate: Date | null;
}

export const APPEND: CommandSpec = {
  states: ['authenticated', 'selected'],
  async handle(ctx, args) {
    const s = ctx.session;
    // The sinks the framer filled, in order; this command owns them now and aborts what it does not commit.
    const streamed = s.pendingAppends;
    s.pendingAppends = [];
    const messages: AppendMessage[] = [];
    const abortAll = (): void => {
      for (const m of messages) m.sink.abort();
      for (const sink of streamed) sink.abort();
    };
    try {
      const wire = args.astring('mailbox name');
      // RFC 3502 §6: append-message *(SP append-message), each with its own flags and date.
      do {
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
        let sink: ImapAppendSink;
        if (t.type === 'literal-stream' && streamed.length > 0) sink = streamed.shift()!;
        else if (t.type === 'string' && t.bytes !== undefined) {
          if (t.bytes.length > s.limits.appendLimit) {
            abortAll();
            return no('Message too big', 'TOOBIG');
          }
          sink = s.account!.beginAppend();
          sink.write(t.bytes);
        } else throw new ImapSyntaxError('Message must be a literal');
        messages.push({ sink, flags, internalDate });
      } while (args.remaining > 0);
      args.end();
      for (const m of messages) finishBinary(m.sink);
      const name = decodeMailboxName(wire, { utf8: s.utf8Names });
      if (name === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
      // RFC 9051 §6.3.12: a zero-length message is refused (RFC 3502 §6: and then none is appended).
      if (messages.some((m) => m.sink.size === 0)) {
        abortAll();
        return no('Empty message', 'CANNOT');
      }
      const account = s.account!;
      const stored = messages.length === 1
        ? [await messages[0]!.sink.commit({ mailbox: name, flags: messages[0]!.flags, internalDate: messages[0]!.internalDate })]
        : await account.commitAppends(messages.map((m) => ({ sink: m.sink, target: { mailbox: name, flags: m.flags, internalDate: m.internalDate } })));
      // RFC 4315 §3, RFC 3502 §6: APPENDUID names every UID stored, as a set.
      return ok('APPEND completed', `APPENDUID ${stored[0]!.uidValidity} ${formatSequenceSet(stored.map((r) => r.uid))}`);
    } catch (err) {
      abortAll();
      // RFC 9051 §6.3.12: [TRYCREATE] when the destination does not exist.
      if (err instanceof ImapBackendError && err.code === 'NONEXISTENT') return no('No such mailbox', 'TRYCREATE');
      throw err;
    }
  },
};
