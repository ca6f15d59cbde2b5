/**
 * REPLACE / UID REPLACE (RFC 8508): a message of the selected mailbox is replaced by a new one, appended
 * to the named mailbox as APPEND does; only once the new message is stored is the old one expunged.
 */
import { no, ok, writeOptions, type CommandSpec } from '../command.ts';
import { parseNumber } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { appendMessages } from './append.ts';
import { selectedMailbox } from './message-set.ts';

export const REPLACE: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    const number = parseNumber(args.atom(ctx.isUid ? 'UID' : 'message number'), 'message number');
    const mailbox = selectedMailbox(ctx);
    const uid = ctx.isUid ? number : (mailbox.uids.at(number - 1) ?? 0);
    // RFC 8508 §3: an unknown message number is BAD, an unknown UID NO (it may have been expunged).
    if (!ctx.isUid && (number < 1 || number > mailbox.exists)) throw new ImapSyntaxError('No such message');
    if (ctx.isUid && mailbox.seqOf(uid) === 0) return no('No such message', 'NONEXISTENT');
    // RFC 8508 §3: the old message is expunged, which a read-only mailbox does not allow. (The streamed
    // message is dropped by the session when the command ends without storing it.)
    if (mailbox.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
    const appended = await appendMessages(ctx, args, { single: true });
    if (appended.status !== 'OK') return appended;
    // RFC 8508 §3: APPENDUID (RFC 4315) goes in an untagged OK, before the expunge of the old message.
    ctx.untagged(`OK [${appended.code}] Replacement message ready`);
    const account = ctx.session.account!;
    const removed = await account.expunge(mailbox.id, [uid], writeOptions(ctx));
    for (const line of mailbox.takeRemovedFromSearches(removed)) ctx.untagged(line);
    for (const line of mailbox.expungeResponses(removed, ctx.session.vanishedExpunges)) ctx.untagged(line);
    return ok(`${ctx.verb} completed`);
  },
};
