/**
 * Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 9051 §6.3), LIST with
 * LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819), LSUB, STATUS (+SIZE, RFC 8438),
 * MAILBOXID in CREATE and STATUS (RFC 8474).
 */
import { formatObjectId } from '../../../core/object-ids.ts';
import type { ImapMailboxInfo, ImapMailboxStatus } from '../backend.ts';
import { no, ok, type CommandContext, type CommandSpec } from '../command.ts';
import { listMatcher } from '../list-pattern.ts';
import { decodeMailboxName, encodeMailboxName, isValidNewMailboxName } from '../mailbox-name.ts';
import { tokenText, type Args } from '../parser/args.ts';
import { ImapSyntaxError, type Token } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';

const AUTHED = ['authenticated', 'selected'] as const;

function mailboxArg(ctx: CommandContext, args: Args): string {
  const wire = args.astring('mailbox name');
  const name = decodeMailboxName(wire, { utf8: ctx.session.utf8Names });
  if (name === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
  return name;
}

function wireName(ctx: CommandContext, name: string): string {
  return formatString(encodeMailboxName(name, { utf8: ctx.session.utf8Names }), { utf8: ctx.session.utf8Names });
}

export const CREATE: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    let name = mailboxArg(ctx, args);
    args.end();
    // RFC 9051 §6.3.4: a trailing separator only says the client intends to create children.
    if (name.endsWith('/')) name = name.slice(0, -1);
    if (name === 'INBOX') return no('INBOX already exists', 'ALREADYEXISTS');
    if (!isValidNewMailboxName(name)) return no('Invalid mailbox name', 'CANNOT');
    const account = ctx.session.account!;
    const { maxMailboxes, maxMailboxLevels } = ctx.session.limits;
    // Every level is a mailbox that LIST walks: a bounded depth and count keep LIST and the store small.
    const levels = name.split('/');
    if (levels.length > maxMailboxLevels) return no(`Mailbox names are limited to ${maxMailboxLevels} levels`, 'LIMIT');
    const existing = new Set((await account.listMailboxes()).map((m) => m.name));
    if (existing.has(name)) return no('Mailbox already exists', 'ALREADYEXISTS');
    // RFC 9051 §6.3.4: superior hierarchical names are created as needed.
    const missing: string[] = [];
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join('/');
      if (!existing.has(parent)) missing.push(parent);
    }
    // RFC 5530 §3: LIMIT, an administrative limit on the number of mailboxes.
    if (existing.size + missing.length + 1 > maxMailboxes) return no(`Too many mailboxes (at most ${maxMailboxes})`, 'LIMIT');
    for (const parent of missing) await account.createMailbox(parent);
    const id = await account.createMailbox(name);
    // RFC 8474 §4.1: the new mailbox's id in the tagged OK.
    return ok('CREATE completed', `MAILBOXID (${formatObjectId('mailbox', id)})`);
  },
};

export const DELETE: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const name = mailboxArg(ctx, args);
    args.end();
    if (name === 'INBOX') return no('INBOX cannot be deleted', 'CANNOT');
    const s = ctx.session;
    if (s.state.kind === 'selected' && s.state.mailbox.name === name) return no('Mailbox is selected', 'INUSE');
    await s.account!.deleteMailbox(name);
    return ok('DELETE completed');
  },
};

export const RENAME: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const from = mailboxArg(ctx, args);
    let to = mailboxArg(ctx, args);
    args.end();
    if (to.endsWith('/')) to = to.slice(0, -1);
    if (to === 'INBOX') return no('Mailbox already exists', 'ALREADYEXISTS');
    if (!isValidNewMailboxName(to)) return no('Invalid mailbox name', 'CANNOT');
    if (to.startsWith(from + '/')) return no('Cannot rename a mailbox into itself', 'CANNOT');
    const { maxMailboxLevels } = ctx.session.limits;
    // The deepest child moves with its parent: its depth after the rename must stay within the limit too.
    let deepest = 0;
    for (const m of await ctx.session.account!.listMailboxes()) {
      if (m.name.startsWith(from + '/')) deepest = Math.max(deepest, levelCount(m.name) - levelCount(from));
    }
    if (levelCount(to) + deepest > maxMailboxLevels) return no(`Mailbox names are limited to ${maxMailboxLevels} levels`, 'LIMIT');
    await ctx.session.account!.renameMailbox(from, to);
    return ok('RENAME completed');
  },
};

function subscribe(value: boolean): CommandSpec {
  return {
    states: AUTHED,
    async handle(ctx, args) {
      const name = mailboxArg(ctx, args);
      args.end();
      await ctx.session.account!.setSubscribed(name, value);
      return ok(value ? 'SUBSCRIBE completed' : 'UNSUBSCRIBE completed');
    },
  };
}
export const SUBSCRIBE = subscribe(true);
export const UNSUBSCRIBE = subscribe(false);

const STATUS_ITEMS = new Set(['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'HIGHESTMODSEQ', 'RECENT', 'MAILBOXID']);

function statusItems(tokens: Token[]): string[] {
  const items = tokens.map((t) => tokenText(t, 'status item').toUpperCase());
  for (const i of items) if (!STATUS_ITEMS.has(i)) throw new ImapSyntaxError(`Unknown status item ${i}`);
  if (items.length === 0) throw new ImapSyntaxError('Empty status item list');
  return items;
}

/**
 * RFC 3501 §6.3.10: STATUS RECENT counts the messages no session has seen yet (RFC 9051 §2.3.2 dropped
 * \Recent: IMAP4rev2 sessions see 0).
 */
async function recentCount(ctx: CommandContext, st: ImapMailboxStatus): Promise<number> {
  const account = ctx.session.account!;
  if (!ctx.session.rev1 || account.recent === undefined) return 0;
  const first = account.recent.peek(st.id, st.uidNext);
  if (first >= st.uidNext) return 0;
  return (await account.metaColumns(st.id, { uidFrom: first, uidTo: st.uidNext - 1 }, [])).count;
}

/**
 * The STATUS response for `name` with `items`; null when the mailbox does not exist. `unsolicited`: sent
 * by the server (NOTIFY), so HIGHESTMODSEQ in it does not turn CONDSTORE on as a client's STATUS does.
 */
export async function statusLine(ctx: CommandContext, name: string, items: string[], options: { unsolicited?: boolean } = {}): Promise<string | null> {
  const st = await ctx.session.account!.status(name, { counts: items.includes('DELETED') || items.includes('SIZE') });
  if (st === null) return null;
  if (items.includes('HIGHESTMODSEQ') && options.unsolicited !== true) ctx.session.enableCondstore(ctx.untagged);
  const values: Record<string, number | string | null> = {
    MESSAGES: st.messages,
    UIDNEXT: st.uidNext,
    UIDVALIDITY: st.uidValidity,
    UNSEEN: st.unseen,
    DELETED: st.deleted,
    SIZE: st.sizeBytes,
    HIGHESTMODSEQ: st.highestModSeq,
    RECENT: items.includes('RECENT') ? await recentCount(ctx, st) : 0,
    // RFC 8474 §4.3: STATUS MAILBOXID.
    MAILBOXID: `(${formatObjectId('mailbox', st.id)})`,
  };
  return `STATUS ${wireName(ctx, name)} (${items.map((i) => `${i} ${values[i]}`).join(' ')})`;
}

export const STATUS: CommandSpec = {
  states: AUTHED,
  async handle(ctx, args) {
    const name = mailboxArg(ctx, args);
    const items = statusItems(args.list('status items'));
    args.end();
    const line = await statusLine(ctx, name, items);
    if (line === null) return no('No such mailbox', 'NONEXISTENT');
    ctx.untagged(line);
    return ok('STATUS completed');
  },
};

interface ListEntry {
  name: string;
  info: ImapMailboxInfo | null; // null: an implied parent that does not exist
  hasChildren: boolean;
  /** Set for entries listed by subscription: whether the name is subscribed. */
  subscribed?: boolean;
  /** RFC 5258 §3.5: listed because a descendant the pattern does not match is subscribed. */
  childInfo?: boolean;
}

/** About 10 ms of matching, or 2,000 lines of 500 characters. */
const LIST_TURN_WORK = 1_000_000;

function levelCount(name: string): number {
  let n = 1;
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) n++;
  return n;
}

/**
 * The mailboxes and their implied parents. Linear in the total length of the names: the walk up from a
 * mailbox stops at the first parent already marked as having children (its own parents were marked then).
 */
function listEntries(mailboxes: ImapMailboxInfo[]): ListEntry[] {
  const byName = new Map<string, ListEntry>();
  for (const m of mailboxes) byName.set(m.name, { name: m.name, info: m, hasChildren: false });
  for (const m of mailboxes) {
    for (let cut = m.name.lastIndexOf('/'); cut > 0; cut = m.name.lastIndexOf('/', cut - 1)) {
      const parent = m.name.slice(0, cut);
      const e = byName.get(parent);
      if (e?.hasChildren === true) break;
      if (e) e.hasChildren = true;
      else byName.set(parent, { name: parent, info: null, hasChildren: true });
    }
  }
  return [...byName.values()].sort(byListOrder);
}

function byListOrder(a: ListEntry, b: ListEntry): number {
  return a.name === 'INBOX' ? -1 : b.name === 'INBOX' ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// RFC 5258 §3.1, RFC 6154 §5.1: the selection options known; any other is BAD.
const SELECTION_OPTIONS = new Set(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);
// RFC 5258 §3.2, RFC 5819 §2, RFC 6154 §5.2: the return options known; any other is BAD.
const RETURN_OPTIONS = new Set(['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE']);

/**
 * The subscribed names (RFC 5258 §3.1 SUBSCRIBED), existing or not, with the mailboxes' attributes. With
 * `recursive` (RECURSIVEMATCH, and LSUB as RFC 3501 §6.3.9 reads), a name that matches the pattern and has
 * a subscribed descendant the pattern does not match is added too, marked `childInfo` (RFC 5258 §3.5).
 */
function subscribedEntries(all: ListEntry[], subscriptions: string[], options: { recursive: boolean; matches: (name: string) => boolean }): ListEntry[] {
  const existing = new Map(all.map((e) => [e.name, e]));
  const out = new Map<string, ListEntry>();
  for (const name of subscriptions) {
    const e = existing.get(name);
    out.set(name, { name, info: e?.info ?? null, hasChildren: e?.hasChildren ?? false, subscribed: true });
  }
  if (options.recursive) {
    const walked = new Set<string>();
    for (const name of subscriptions) {
      if (options.matches(name)) continue;
      for (let cut = name.lastIndexOf('/'); cut > 0; cut = name.lastIndexOf('/', cut - 1)) {
        const parent = name.slice(0, cut);
        // Its own parents were walked when it was first seen.
        if (walked.has(parent)) break;
        walked.add(parent);
        if (!options.matches(parent)) continue;
        const e = out.get(parent) ?? { name: parent, info: existing.get(parent)?.info ?? null, hasChildren: true, subscribed: false };
        e.childInfo = true;
        out.set(parent, e);
      }
    }
  }
  return [...out.values()].sort(byListOrder);
}

function listCommand(kind: 'LIST' | 'LSUB'): CommandSpec {
  return {
    states: AUTHED,
    async handle(ctx, args) {
      const s = ctx.session;
      const selection = new Set<string>();
      const returns = new Set<string>();
      let statusWanted: string[] | null = null;
      if (kind === 'LIST') {
        const sel = args.optionalList();
        for (const t of sel ?? []) {
          const o = tokenText(t, 'selection option').toUpperCase();
          if (!SELECTION_OPTIONS.has(o)) throw new ImapSyntaxError(`Unknown LIST selection option ${o}`);
          selection.add(o);
        }
        // RFC 5258 §3.1: RECURSIVEMATCH needs another selection option to recurse on (REMOTE does not count).
        if (selection.has('RECURSIVEMATCH') && !selection.has('SUBSCRIBED') && !selection.has('SPECIAL-USE')) {
          throw new ImapSyntaxError('RECURSIVEMATCH needs another selection option');
        }
      }
      const reference = decodeMailboxName(args.astring('reference'), { utf8: s.utf8Names }) ?? '';
      const patTok = args.next('pattern');
      const patterns = (patTok.type === 'list' ? patTok.items : [patTok]).map((t) => tokenText(t, 'pattern'));
      if (kind === 'LIST' && args.optionalKeyword('RETURN') !== null) {
        const opts = args.list('return options');
        for (let i = 0; i < opts.length; i++) {
          const o = tokenText(opts[i]!, 'return option').toUpperCase();
          if (o === 'STATUS') {
            const items = opts[++i];
            if (items?.type !== 'list') throw new ImapSyntaxError('STATUS needs a list');
            statusWanted = statusItems(items.items);
          } else if (RETURN_OPTIONS.has(o)) returns.add(o);
          else throw new ImapSyntaxError(`Unknown LIST return option ${o}`);
        }
      }
      args.end();
      // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
      if (patterns.length === 1 && patterns[0] === '') {
        ctx.untagged(`${kind} (\\Noselect) "/" ""`);
        return ok(`${kind} completed`);
      }
      const matchers = patterns.map((p) => listMatcher(reference, decodeMailboxName(p, { utf8: s.utf8Names }) ?? p));
      const matchesAny = (name: string): boolean => matchers.some((matches) => matches(name));
      const subscribedOnly = kind === 'LSUB' || selection.has('SUBSCRIBED');
      const specialOnly = selection.has('SPECIAL-USE');
      const showSubscribed = subscribedOnly || returns.has('SUBSCRIBED');
      const account = s.account!;
      let entries = listEntries(await account.listMailboxes());
      if (subscribedOnly) {
        entries = subscribedEntries(entries, await account.listSubscriptions(), {
          recursive: kind === 'LSUB' || selection.has('RECURSIVEMATCH'),
          matches: matchesAny,
        });
      }
      let workAtTurn = 0;
      let scanned = 0;
      for (const e of entries) {
        const matched = e.childInfo === true || matchesAny(e.name);
        // Thousands of long names, or a pattern with many wildcards, are real work: other connections get a
        // turn of the event loop every LIST_TURN_WORK units (state steps and name characters), so one LIST
        // never stalls the server.
        scanned += e.name.length;
        const work = scanned + matchers.reduce((sum, m) => sum + m.work, 0);
        if (work - workAtTurn > LIST_TURN_WORK) {
          workAtTurn = work;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (!matched) continue;
        if (specialOnly && (e.info === null || e.info.specialUse === null)) continue;
        const subscribed = e.subscribed ?? e.info?.subscribed === true;
        const attrs: string[] = [];
        if (kind === 'LSUB') {
          // RFC 3501 §6.3.9: a parent listed only for its subscribed children is \Noselect.
          if (!subscribed) attrs.push('\\Noselect');
        } else {
          // RFC 5258 §3.4: \NonExistent (implying \Noselect) for a name with no mailbox, e.g. a
          // subscription whose mailbox was deleted; plain LIST keeps RFC 3501's \Noselect.
          if (e.info === null) attrs.push(selection.size > 0 || subscribed ? '\\NonExistent' : '\\Noselect');
          // RFC 3348 (part of IMAP4rev2, RFC 9051 §7.3.1): \HasChildren or \HasNoChildren on every listed name.
          attrs.push(e.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
          if (showSubscribed && subscribed) attrs.push('\\Subscribed');
          if (e.info?.specialUse != null) attrs.push(e.info.specialUse);
        }
        // RFC 5258 §3.5: CHILDINFO says which selection criterion a descendant met.
        const extended = kind === 'LIST' && e.childInfo === true ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
        ctx.untagged(`${kind} (${attrs.join(' ')}) "/" ${wireName(ctx, e.name)}${extended}`);
        if (statusWanted !== null && e.info !== null) {
          const line = await statusLine(ctx, e.name, statusWanted);
          if (line !== null) ctx.untagged(line);
        }
      }
      return ok(`${kind} completed`);
    },
  };
}
export const LIST = listCommand('LIST');
export const LSUB = listCommand('LSUB');

