/**
 * Keeping searches up to date (RFC 5267 §4.2 CONTEXT=SEARCH and CONTEXT=SORT): after a command or while
 * idling, the searches and sorts started with RETURN (UPDATE) are run again and their changes sent as
 * ESEARCH ADDTO and REMOVEFROM; CANCELUPDATE ends them (RFC 5267 §4.5).
 */
import { ok, no, type CommandSpec } from '../command.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { formatSearchUpdate, formatSortUpdate } from '../search-update.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { ImapSessionCore } from '../session-state.ts';
import { selectedMailbox } from './message-set.ts';
import { runSearch } from './search.ts';

/** Runs each updating search again over the messages the session knows; the ESEARCH lines for what changed. */
export async function refreshSearchUpdates(session: ImapSessionCore, mailbox: SelectedMailbox): Promise<string[]> {
  const out: string[] = [];
  for (const u of mailbox.searchUpdates.values()) {
    if (u.sort !== undefined) {
      // RFC 5267 §4.3: a sorted result's changes carry the positions where they happen.
      const sorted = await runSearch(session, mailbox, u.key, u.sort.needHeaders, ['internalDate', 'size']);
      const line = formatSortUpdate(u, u.sort.resort(sorted), (uid) => (u.isUid ? uid : mailbox.seqOf(uid)));
      if (line !== null) out.push(line);
      continue;
    }
    const found = await runSearch(session, mailbox, u.key, false);
    const now = new Set(found.map((f) => f.meta.uid));
    const removed = [...u.uids].filter((uid) => !now.has(uid));
    const added = [...now].filter((uid) => !u.uids.has(uid));
    for (const uid of removed) u.uids.delete(uid);
    for (const uid of added) u.uids.add(uid);
    const ids = (uids: number[]): number[] => (u.isUid ? uids : uids.map((uid) => mailbox.seqOf(uid)).filter((n) => n > 0));
    const line = formatSearchUpdate(u, { removed: ids(removed), added: ids(added) });
    if (line !== null) out.push(line);
  }
  mailbox.searchUpdatesDirty = false;
  return out;
}

export const CANCELUPDATE: CommandSpec = {
  states: ['selected'],
  async handle(ctx, args) {
    if (args.remaining === 0) throw new ImapSyntaxError('Missing search tag');
    const tags: string[] = [];
    while (args.remaining > 0) tags.push(args.astring('search tag'));
    const mailbox = selectedMailbox(ctx);
    const unknown = tags.filter((t) => !mailbox.searchUpdates.has(t));
    for (const t of tags) mailbox.searchUpdates.delete(t);
    if (unknown.length > 0) return no('No search is being updated under that tag');
    return ok('CANCELUPDATE completed');
  },
};
