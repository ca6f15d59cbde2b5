/**
 * APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889), MULTIAPPEND (RFC 3502:
 * several messages, all stored or none) and CATENATE (RFC 4469). The message literals were streamed into the backend's sinks by
 * the framer; OK is sent only after the durable commit.
 */
import { ImapBackendError, type ImapAppendSink } from '../backend.ts';
import { finishBinary } from '../binary-append.ts';
import { BadUrlError, parseCatenate, resolveUrl, type CatenatePart } from './catenate.ts';
import { no, ok, writeOptions, type CommandContext, type CommandResult, type CommandSpec } from '../command.ts';
import type { Args } from '../parser/args.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { parseDateTime, tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { normalizeFlag } from '../response.ts';
import { formatSequenceSet } from '../sequence-set.ts';

interface AppendMessage {
  /** null for a CATENATE message until its parts are put together. */
  sink: ImapAppendSink | null;
  parts?: CatenatePart[];
  flags: string[];
  internalDate: Date | null;
}

export const APPEND: CommandSpec = {
  states: ['authenticated', 'selected'],
  handle: (ctx, args) => appendMessages(ctx, args, { single: false }),
};

/**
 * Parses `mailbox append-message *(SP append-message)` and stores the messages, all or none. `single`:
 * one message only (REPLACE, RFC 8508 §3), more is BAD.
 */
export async function appendMessages(ctx: CommandContext, args: Args, options: { single: boolean }): Promise<CommandResult> {
  const s = ctx.session;
  // The sinks the framer filled, in order; this command owns them now and aborts what it does not commit.
  const streamed = s.pendingAppends;
  s.pendingAppends = [];
  const messages: AppendMessage[] = [];
  const abortAll = (): void => {
    for (const m of messages) m.sink?.abort();
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
      if (t.type === 'atom' && t.value.toUpperCase() === 'CATENATE') {
        const items = args.next('catenate parts');
        if (items.type !== 'list') throw new ImapSyntaxError('CATENATE needs a list');
        messages.push({ sink: null, parts: parseCatenate(items.items), flags, internalDate });
        continue;
      }
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
    if (options.single && messages.length > 1) throw new ImapSyntaxError('One message only');
    const name = decodeMailboxName(wire, { utf8: s.utf8Names });
    if (name === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
    const account = s.account!;
    if (messages.some((m) => m.parts !== undefined)) {
      // RFC 4469 §5: a missing destination answers TRYCREATE before any URL is looked at.
      if ((await account.status(name, { counts: false })) === null) {
        abortAll();
        return no('No such mailbox', 'TRYCREATE');
      }
      for (const m of messages) {
        if (m.parts === undefined) continue;
        const sink = account.beginAppend();
        m.sink = sink;
        let size = 0;
        for (const part of m.parts) {
          const bytes = part.kind === 'text' ? part.bytes : await resolveUrl(account, part.url, s.limits.mime);
          size += bytes.length;
          if (size > s.limits.appendLimit) {
            abortAll();
            return no('Message too big', 'TOOBIG');
          }
          sink.write(bytes);
        }
      }
    }
    const ready = messages.map((m) => ({ ...m, sink: m.sink! }));
    for (const m of ready) finishBinary(m.sink);
    // RFC 9051 §6.3.12: a zero-length message is refused (RFC 3502 §6: and then none is appended).
    if (ready.some((m) => m.sink.size === 0)) {
      abortAll();
      return no('Empty message', 'CANNOT');
    }
    // Answered once durable: the session holds the answer (and what follows) until then (writeOptions).
    const stored = await account.commitAppends(ready.map((m) => ({ sink: m.sink, target: { mailbox: name, flags: m.flags, internalDate: m.internalDate } })), writeOptions(ctx));
    // Other sessions hear of the new messages once they are durable; this one reports them after its own
    // command (EXISTS before the tagged OK) when they went to the mailbox it has selected.
    if (s.state.kind === 'selected' && s.state.mailbox.name === name) s.state.mailbox.noteOwnArrivals();
    // RFC 4315 §3, RFC 3502 §6: APPENDUID names every UID stored, as a set.
    return ok('APPEND completed', `APPENDUID ${stored[0]!.uidValidity} ${formatSequenceSet(stored.map((r) => r.uid))}`);
  } catch (err) {
    abortAll();
    // RFC 4469 §6: a URL that names nothing in this account.
    if (err instanceof BadUrlError) return no(err.message, err.code);
    // RFC 9051 §6.3.12: [TRYCREATE] when the destination does not exist.
    if (err instanceof ImapBackendError && err.code === 'NONEXISTENT') return no('No such mailbox', 'TRYCREATE');
    throw err;
  }
}

