/**
 * STORE / UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3), and COPY / MOVE with
 * their UID forms (RFC 9051 §6.4.7, RFC 6851) answering COPYUID (RFC 4315).
 */
import { ImapBackendError } from '../backend.ts';
import { no, ok, type CommandContext, type CommandResult, type CommandSpec } from '../command.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { parseNumber, tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { normalizeFlag } from '../response.ts';
import { formatSequenceSet } from '../sequence-set.ts';
import { resolveMessages, selectedMailbox } from './message-set.ts';

export const STORE: CommandSpec = {
  states: ['selected'],
  noExpungeAfter: true,
  async handle(ctx, args) {
    const setText = args.atom('sequence set');
    let unchangedSince: number | undefined;
    const mods = args.optionalList();
    for (let i = 0; mods !== null && i < mods.length; i++) {
      const m = tokenText(mods[i]!, 'store modifier').toUpperCase();
      if (m !== 'UNCHANGEDSINCE') throw new ImapSyntaxError(`Unknown store modifier ${m}`);
      unchangedSince = parseNumber(tokenText(mods[++i] ?? { type: 'list', items: [] }, 'modseq'), 'modseq');
    }
    const item = args.atom('store item').toUpperCase();
    const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
    if (m === null) throw new ImapSyntaxError('Invalid store item');
    const flagTokens = args.optionalList() ?? [];
    while (args.remaining > 0) flagTokens.push(args.next('flag'));
    const flags: string[] = [];
    for (const t of flagTokens) {
      const f = normalizeFlag(tokenText(t, 'flag'));
      if (f === null) throw new ImapSyntaxError('Invalid flag');
      if (!flags.includes(f)) flags.push(f);
    }
    const s = ctx.session;
    if (unchangedSince !== undefined) s.enableCondstore(ctx.untagged);
    const mailbox = selectedMailbox(ctx);
    if (mailbox.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
    const refs = resolveMessages(ctx, setText);
    const op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
    const account = s.account!;
    const uids = refs.map((r) => r.uid);
    // RFC 9051 §7.3.5: a keyword new to the mailbox is announced before the FETCH responses that show it.
    if (op !== 'remove' && uids.length > 0) for (const line of mailbox.announceKeywords(flags)) ctx.untagged(line);
    const result = uids.length === 0 ? { changed: [], failedUnchangedSince: [] } : await account.storeFlags(mailbox.id, uids, op, flags, unchangedSince !== undefined ? { unchangedSince } : {});
    for (const c of result.changed) mailbox.noteOwnStore(c.uid, c.modSeq);
    const failed = new Set(result.failedUnchangedSince);
    if (m[2] === undefined || s.enabled.has('CONDSTORE')) {
      const changed = new Map(result.changed.map((c) => [c.uid, c]));
      // RFC 7162 §3.1.3: with .SILENT, only messages whose modseq changed are reported under CONDSTORE.
      const metas = m[2] === undefined ? await account.messages(mailbox.id, uids.filter((u) => !failed.has(u))) : result.changed;
      for (const meta of metas) {
        const seq = mailbox.seqOf(meta.uid);
        if (seq === 0) continue;
        const fresh = changed.get(meta.uid) ?? meta;
        const parts = [];
        if (m[2] === undefined) parts.push(`FLAGS ${mailbox.formatFlags(meta.uid, fresh.flags, s.rev1)}`);
        if (ctx.isUid) parts.push(`UID ${meta.uid}`);
        if (s.enabled.has('CONDSTORE')) parts.push(`MODSEQ (${fresh.modSeq})`);
        if (m[2] !== undefined && !changed.has(meta.uid)) continue;
        // Another session may have set a keyword on the message that this one was not told of yet.
        if (m[2] === undefined) for (const line of mailbox.announceKeywords(fresh.flags)) ctx.untagged(line);
        ctx.untagged(`${seq} FETCH (${parts.join(' ')})`);
      }
    }
    if (failed.size > 0) {
      const ids = refs.filter((r) => failed.has(r.uid)).map((r) => (ctx.isUid ? r.uid : r.seq));
      return ok('Some messages were modified', `MODIFIED ${formatSequenceSet(ids)}`);
    }
    return ok(`${ctx.verb} completed`);
  },
};

async function copyOrMove(ctx: CommandContext, move: boolean, setText: string, wire: string): Promise<CommandResult> {
  const s = ctx.session;
  const mailbox = selectedMailbox(ctx);
  if (move && mailbox.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
  const dest = decodeMailboxName(wire, { utf8: s.utf8Names });
  if (dest === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
  const refs = resolveMessages(ctx, setText);
  if (refs.length === 0) return ok(`${ctx.verb} completed`);
  let result;
  try {
    result = await s.account!.copy(mailbox.id, refs.map((r) => r.uid), dest, { move });
  } catch (err) {
    // RFC 9051 §6.4.7: a missing destination answers [TRYCREATE].
    if (err instanceof ImapBackendError && err.code === 'NONEXISTENT') return no('No such mailbox', 'TRYCREATE');
    throw err;
  }
  const pairs = [...result.pairs].sort((a, b) => a[0] - b[0]);
  const code = pairs.length > 0 ? `COPYUID ${result.uidValidity} ${formatSequenceSet(pairs.map((p) => p[0]))} ${pairs.map((p) => p[1]).join(',')}` : undefined;
  if (!move) return ok(`${ctx.verb} completed`, code);
  // RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunge responses.
  if (code !== undefined) ctx.untagged(`OK [${code}] Moved`);
  const moved = pairs.map((p) => p[0]);
  if (s.enabled.has('QRESYNC')) {
    mailbox.removeUids(moved);
    if (moved.length > 0) ctx.untagged(`VANISHED ${formatSequenceSet(moved)}`);
  } else {
    for (const seq of mailbox.removeUids(moved)) ctx.untagged(`${seq} EXPUNGE`);
  }
  return ok(`${ctx.verb} completed`);
}

function copyCommand(move: boolean): CommandSpec {
  return {
    states: ['selected'],
    async handle(ctx, args) {
      const setText = args.atom('sequence set');
      const wire = args.astring('mailbox name');
      args.end();
      return copyOrMove(ctx, move, setText, wire);
    },
  };
}
export const COPY = copyCommand(false);
export const MOVE = copyCommand(true);
