/**
 * Entering and leaving the selected state: SELECT/EXAMINE (RFC 9051 §6.3.2, CONDSTORE/QRESYNC
 * parameters RFC 7162 §3.2.5), CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315).
 */
import { hasFlag } from '../../../core/flag-text.ts';
import { formatObjectId } from '../../../core/object-ids.ts';
import { no, ok, writeOptions, type CommandContext, type CommandResult, type CommandSpec } from '../command.ts';
import { decodeMailboxName, encodeMailboxName } from '../mailbox-name.ts';
import { parseNumber, tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';
import { fetchHead, SelectedMailbox } from '../selected.ts';
import type { ImapAccount } from '../backend.ts';
import { formatSequenceSet, parseSequenceSet, uidIndexIntervals, uidInSet, type SequenceRange } from '../sequence-set.ts';
import { spansOf } from './message-set.ts';
import { batchUid, metaBatches } from './meta-batches.ts';

const AUTHED = ['authenticated', 'selected'] as const;

interface QresyncParams {
  uidValidity: number;
  modSeq: number;
  knownUids: SequenceRange[] | null;
}

function leaveSelected(ctx: CommandContext): void {
  const s = ctx.session;
  if (s.state.kind !== 'selected') return;
  const { identity, account, unwatch } = s.state;
  s.state = { kind: 'authenticated', identity, account, unwatch };
  s.savedSearch = null; // RFC 5182 §2.1: the saved result does not survive the mailbox
}

function selectCommand(readOnly: boolean): CommandSpec {
  return {
    states: AUTHED,
    async handle(ctx, args) {
      const s = ctx.session;
      const wire = args.astring('mailbox name');
      let qresync: QresyncParams | null = null;
      const params = args.optionalList();
      args.end();
      for (let i = 0; params !== null && i < params.length; i++) {
        const p = tokenText(params[i]!, 'select parameter').toUpperCase();
        if (p === 'CONDSTORE') s.enabled.add('CONDSTORE');
        else if (p === 'QRESYNC') {
          // RFC 7162 §3.2.5: QRESYNC must have been enabled first.
          if (!s.enabled.has('QRESYNC')) throw new ImapSyntaxError('QRESYNC not enabled');
          const q = params[++i];
          if (q?.type !== 'list' || q.items.length < 2) throw new ImapSyntaxError('Invalid QRESYNC parameter');
          // RFC 9586 §3: the sequence match data pairs message numbers with UIDs; not under UIDONLY.
          if (s.uidOnly && q.items.length > 3) throw new ImapSyntaxError('Message numbers are not used in this session', 'UIDREQUIRED');
          const [v, m, known] = q.items.map((t) => (t.type === 'list' ? '' : tokenText(t, 'QRESYNC parameter')));
          qresync = {
            uidValidity: parseNumber(v!, 'uidvalidity'),
            modSeq: parseNumber(m!, 'modseq'),
            knownUids: known !== undefined && known !== '' ? (parseSequenceSet(known) as SequenceRange[]) : null,
          };
        } else throw new ImapSyntaxError(`Unknown SELECT parameter ${p}`);
      }
      const hadSelected = s.state.kind === 'selected';
      leaveSelected(ctx);
      // RFC 7162 §3.2.11, RFC 9051 §7.1: the end of the previous selection is marked with [CLOSED].
      if (hadSelected && (s.enabled.has('QRESYNC') || s.enabled.has('IMAP4REV2'))) ctx.untagged('OK [CLOSED] Previous mailbox closed');
      const name = decodeMailboxName(wire, { utf8: s.utf8Names });
      // Changes racing with the snapshot are buffered and replayed, so none is lost.
      s.selectBuffer = [];
      let snap;
      try {
        snap = name === null ? null : await s.account!.select(name);
      } catch (err) {
        s.selectBuffer = null;
        throw err;
      }
      const raced = s.selectBuffer;
      s.selectBuffer = null;
      if (snap === null) return no('No such mailbox', 'NONEXISTENT');
      const claims = s.account!.recent;
      const mailbox = new SelectedMailbox(snap, { readOnly, ...(claims !== undefined ? { recent: claims } : {}) });
      for (const change of raced) mailbox.onChange(change);
      const rev2 = s.enabled.has('IMAP4REV2');
      ctx.untagged(`${mailbox.exists} EXISTS`);
      // RFC 3501 §6.3.1: IMAP4rev1 sessions are told how many messages are \Recent.
      if (!rev2) ctx.untagged(`${mailbox.recentCount} RECENT`);
      for (const line of mailbox.flagsResponses()) ctx.untagged(line);
      ctx.untagged(`OK [UIDVALIDITY ${snap.uidValidity}] UIDs valid`);
      ctx.untagged(`OK [UIDNEXT ${snap.uidNext}] Predicted next UID`);
      ctx.untagged(`OK [HIGHESTMODSEQ ${snap.highestModSeq}] Highest`);
      // RFC 8474 §4.2: the mailbox's id, the one JMAP gives it (core/object-ids.ts).
      ctx.untagged(`OK [MAILBOXID (${formatObjectId('mailbox', snap.id)})] Ok`);
      if (!rev2 && snap.firstUnseenSeq > 0) ctx.untagged(`OK [UNSEEN ${snap.firstUnseenSeq}] First unseen`);
      // RFC 9051 §6.3.2: IMAP4rev2 servers send the mailbox's LIST response.
      if (rev2) ctx.untagged(`LIST () "/" ${formatString(encodeMailboxName(snap.name, { utf8: true }), { utf8: true })}`);
      if (qresync !== null && qresync.uidValidity === snap.uidValidity) {
        let vanished = await s.account!.vanishedSince(snap.id, qresync.modSeq);
        const known = qresync.knownUids;
        if (known !== null) vanished = vanished.filter((u) => uidInSet(known, u, snap.uidNext - 1));
        if (vanished.length > 0) ctx.untagged(`VANISHED (EARLIER) ${formatSequenceSet(vanished)}`);
        for (const m of await s.account!.changedSince(snap.id, { modSeq: qresync.modSeq })) {
          const seq = mailbox.seqOf(m.uid);
          const uid = s.uidOnly ? '' : `UID ${m.uid} `;
          if (seq > 0) ctx.untagged(`${fetchHead(seq, m.uid, s.uidOnly)} (${uid}FLAGS ${mailbox.formatFlags(m.uid, m.flags, !rev2)} MODSEQ (${m.modSeq}))`);
        }
      }
      const { identity, account, unwatch } = s.state as Extract<typeof s.state, { kind: 'authenticated' }>;
      s.state = { kind: 'selected', identity, account, unwatch, mailbox };
      return ok(`${readOnly ? 'EXAMINE' : 'SELECT'} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
    },
  };
}
export const SELECT = selectCommand(false);
export const EXAMINE = selectCommand(true);

export const UNSELECT: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    args.end();
    leaveSelected(ctx);
    return ok('UNSELECT completed');
  },
};

export const CLOSE: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    args.end();
    const s = ctx.session;
    if (s.state.kind !== 'selected') return no('No mailbox selected');
    const { mailbox, account } = s.state;
    // RFC 9051 §6.4.1: CLOSE expunges silently, and only in a read-write mailbox.
    if (!mailbox.readOnly) {
      const deleted = await deletedUids(account, mailbox, [[0, mailbox.exists - 1]]);
      if (deleted.length > 0) await account.expunge(mailbox.id, deleted);
    }
    leaveSelected(ctx);
    return ok('CLOSE completed');
  },
};

/**
 * The UIDs, among the session's messages at the given [first, last] indexes, that carry \\Deleted: read
 * as a flags column, META_BATCH consecutive UIDs at a time (EXPUNGE of a 100,000-message mailbox).
 */
async function deletedUids(account: ImapAccount, mailbox: SelectedMailbox, intervals: [number, number][]): Promise<number[]> {
  const out: number[] = [];
  for await (const b of metaBatches(account, mailbox.id, spansOf(mailbox.uids, intervals), ['flags'])) {
    const flags = b.cols.flags!;
    for (let i = 0; i < b.cols.count; i++) {
      if (hasFlag(flags[i]!, '\\Deleted')) out.push(batchUid(b, i));
    }
  }
  return out;
}

async function expunge(ctx: CommandContext, set: SequenceRange[] | null): Promise<CommandResult> {
  const s = ctx.session;
  if (s.state.kind !== 'selected') return no('No mailbox selected');
  const { mailbox, account } = s.state;
  if (mailbox.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
  const deleted = await deletedUids(account, mailbox, set === null ? [[0, mailbox.exists - 1]] : uidIndexIntervals(set, mailbox.uids));
  const removed = deleted.length > 0 ? await account.expunge(mailbox.id, deleted, writeOptions(ctx)) : [];
  removed.sort((a, b) => a - b);
  for (const line of mailbox.takeRemovedFromSearches(removed)) ctx.untagged(line);
  for (const line of mailbox.expungeResponses(removed, s.vanishedExpunges)) ctx.untagged(line);
  return ok(`${ctx.verb} completed`);
}

export const EXPUNGE: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    args.end();
    return expunge(ctx, null);
  },
};

export const UID_EXPUNGE: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    const set = parseSequenceSet(args.atom('UID set'));
    args.end();
    if (set === '$') throw new ImapSyntaxError('$ not supported here');
    return expunge(ctx, set);
  },
};
