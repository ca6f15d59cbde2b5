/**
 * MOVE / UID MOVE (RFC 6851): a copy, then the source messages are expunged and reported as
 * EXPUNGE (or VANISHED under QRESYNC) before the tagged OK.
 */
import { no, ok, type CommandSpec } from '../command.ts';
import { copyMessages } from './copy.ts';
import { selectedMailbox } from './message-set.ts';

export const MOVE: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    const setText = args.atom('sequence set');
    const wire = args.astring('mailbox name');
    args.end();
    const mailbox = selectedMailbox(ctx);
    if (mailbox.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
    const moved = await copyMessages(ctx, setText, wire, { move: true });
    if ('status' in moved) return moved;
    // RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunge responses.
    if (moved.code !== undefined) ctx.untagged(`OK [${moved.code}] Moved`);
    const uids = moved.pairs.map((p) => p[0]);
    for (const line of mailbox.takeRemovedFromSearches(uids)) ctx.untagged(line);
    for (const line of mailbox.expungeResponses(uids, ctx.session.vanishedExpunges)) ctx.untagged(line);
    return ok(`${ctx.verb} completed`);
  },
};
