/**
 * COPY / UID COPY (RFC 9051 §6.4.7) answering COPYUID (RFC 4315), and the copy step MOVE shares.
 */
import { ImapBackendError } from '../backend.ts';
import { no, ok, writeOptions, type CommandContext, type CommandResult, type CommandSpec } from '../command.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { formatSequenceSet } from '../sequence-set.ts';
import { resolveMessages, selectedMailbox } from './message-set.ts';

/** What a copy made: source → new UID pairs by source UID, and the COPYUID code (absent when nothing was copied). */
export interface CopyOutcome {
  pairs: Array<[number, number]>;
  code: string | undefined;
}

/** Copies (or moves) the messages of `setText` to the mailbox named `wire`; a NO result when refused. */
export async function copyMessages(ctx: CommandContext, setText: string, wire: string, options: { move: boolean }): Promise<CopyOutcome | CommandResult> {
  const s = ctx.session;
  const mailbox = selectedMailbox(ctx);
  const dest = decodeMailboxName(wire, { utf8: s.utf8Names });
  if (dest === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
  const refs = resolveMessages(ctx, setText);
  if (refs.length === 0) return { pairs: [], code: undefined };
  let result;
  try {
    result = await s.account!.copy(mailbox.id, refs.map((r) => r.uid), dest, { ...options, ...writeOptions(ctx) });
  } catch (err) {
    // RFC 9051 §6.4.7: a missing destination answers [TRYCREATE].
    if (err instanceof ImapBackendError && err.code === 'NONEXISTENT') return no('No such mailbox', 'TRYCREATE');
    throw err;
  }
  // As APPEND: copies into the selected mailbox are reported by this command, once durable.
  if (result.pairs.length > 0 && dest === mailbox.name) mailbox.noteOwnArrivals();
  const pairs = [...result.pairs].sort((a, b) => a[0] - b[0]);
  const code = pairs.length > 0 ? `COPYUID ${result.uidValidity} ${formatSequenceSet(pairs.map((p) => p[0]))} ${pairs.map((p) => p[1]).join(',')}` : undefined;
  return { pairs, code };
}

export const COPY: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    const setText = args.atom('sequence set');
    const wire = args.astring('mailbox name');
    args.end();
    const copied = await copyMessages(ctx, setText, wire, { move: false });
    if ('status' in copied) return copied;
    return ok(`${ctx.verb} completed`, copied.code);
  },
};
