/**
 * STORE / UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3).
 */
import { fetchHead } from '../selected.ts';
import { no, ok, writeOptions, type CommandSpec } from '../command.ts';
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
    const result = uids.length === 0 ? { changed: [], failedUnchangedSince: [] } : await account.storeFlags(mailbox.id, uids, op, flags, {
      ...(unchangedSince !== undefined ? { unchangedSince } : {}),
      // The answer waits for durability in the session, not here: a pipelined command may run meanwhile.
      ...writeOptions(ctx),
    });
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
        if (ctx.isUid && !s.uidOnly) parts.push(`UID ${meta.uid}`);
        if (s.enabled.has('CONDSTORE')) parts.push(`MODSEQ (${fresh.modSeq})`);
        if (m[2] !== undefined && !changed.has(meta.uid)) continue;
        // Another session may have set a keyword on the message that this one was not told of yet.
        if (m[2] === undefined) for (const line of mailbox.announceKeywords(fresh.flags)) ctx.untagged(line);
        ctx.untagged(`${fetchHead(seq, meta.uid, s.uidOnly)} (${parts.join(' ')})`);
      }
    }
    if (failed.size > 0) {
      const ids = refs.filter((r) => failed.has(r.uid)).map((r) => (ctx.isUid ? r.uid : r.seq));
      return ok('Some messages were modified', `MODIFIED ${formatSequenceSet(ids)}`);
    }
    return ok(`${ctx.verb} completed`);
  },
};
