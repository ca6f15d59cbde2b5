/**
 * NOTIFY (RFC 5465): which mailboxes a session hears about and which events, the NOTIFY SET / NONE
 * command with its error cases, and the unsolicited responses sent when another session or process
 * changes a mailbox (STATUS for other mailboxes, EXISTS/EXPUNGE/FETCH for the selected one, LIST for
 * created, deleted, renamed and (un)subscribed mailboxes, METADATA for changed mailbox and server entries).
 */
import type { ImapChange, ImapMailboxInfo } from '../backend.ts';
import { bad, no, ok, type CommandContext, type CommandSpec } from '../command.ts';
import { decodeMailboxName, encodeMailboxName } from '../mailbox-name.ts';
import { Args, tokenText } from '../parser/args.ts';
import { ImapSyntaxError, type Token } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';
import type { ImapSessionCore } from '../session-state.ts';
import { NotifyState, type EventGroup, type Filter, type NotifyEvent } from '../notify-state.ts';
import { FETCH } from './fetch.ts';
import { statusLine } from './mailboxes.ts';

/**
 * RFC 5465 §5: the events this server reports; others get NO [BADEVENT (these)]. MailboxMetadataChange and
 * ServerMetadataChange are required of a server that offers METADATA (§5.6, §5.7). AnnotationChange (§5.1)
 * is not among them: ANNOTATE (RFC 5257) is not offered.
 */
const SUPPORTED: readonly NotifyEvent[] = ['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange', 'MailboxMetadataChange', 'ServerMetadataChange'];
const FILTERS = new Set<string>(['SELECTED', 'SELECTED-DELAYED', 'INBOXES', 'PERSONAL', 'SUBSCRIBED', 'SUBTREE', 'MAILBOXES']);

/** The STATUS items an event asks for (RFC 5465 §5.1-§5.3), in the order they are sent. */
function statusItems(events: Iterable<NotifyEvent>): string[] {
  const want = new Set<string>();
  for (const e of events) {
    if (e === 'MessageNew') ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY'].forEach((i) => want.add(i));
    if (e === 'MessageExpunge') want.add('MESSAGES');
    if (e === 'FlagChange') ['UIDVALIDITY', 'HIGHESTMODSEQ'].forEach((i) => want.add(i));
  }
  return ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'HIGHESTMODSEQ'].filter((i) => want.has(i));
}

const EVENT_OF: Record<string, NotifyEvent | undefined> = { append: 'MessageNew', expunge: 'MessageExpunge', flags: 'FlagChange' };

function mailboxName(ctx: CommandContext, t: Token): string {
  const name = decodeMailboxName(tokenText(t, 'mailbox name'), { utf8: ctx.session.utf8Names });
  if (name === null) throw new ImapSyntaxError('Invalid mailbox name encoding');
  return name;
}

function parseGroup(ctx: CommandContext, tokens: Token[]): EventGroup | { badEvent: true } {
  let i = 0;
  const f = tokenText(tokens[i++] ?? { type: 'list', items: [] }, 'mailbox filter').toUpperCase();
  if (!FILTERS.has(f)) throw new ImapSyntaxError(`Unknown mailbox filter ${f}`);
  const filter = f as Filter;
  const names: string[] = [];
  if (filter === 'SUBTREE' || filter === 'MAILBOXES') {
    const t = tokens[i++];
    if (t === undefined) throw new ImapSyntaxError(`${filter} needs mailboxes`);
    // RFC 5465 §8: one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")".
    for (const m of t.type === 'list' ? t.items : [t]) names.push(mailboxName(ctx, m));
    if (names.length === 0) throw new ImapSyntaxError(`${filter} needs mailboxes`);
  }
  const ev = tokens[i++];
  if (ev === undefined || i !== tokens.length) throw new ImapSyntaxError('Invalid event group');
  const events = new Set<NotifyEvent>();
  let fetchAtts: Token[] | null = null;
  let badEvent = false;
  if (ev.type !== 'list') {
    // RFC 5465 §8: `events = ( "(" event *(SP event) ")" ) / "NONE"`.
    if (tokenText(ev, 'events').toUpperCase() !== 'NONE') throw new ImapSyntaxError('Invalid events');
  } else {
    for (let k = 0; k < ev.items.length; k++) {
      const word = tokenText(ev.items[k]!, 'event');
      const known = SUPPORTED.find((e) => e.toLowerCase() === word.toLowerCase());
      if (known === undefined) {
        badEvent = true;
        continue;
      }
      events.add(known);
      const next = ev.items[k + 1];
      if (known === 'MessageNew' && next?.type === 'list') {
        // RFC 5465 §5.1: FETCH attributes only for the selected mailbox.
        if (filter !== 'SELECTED' && filter !== 'SELECTED-DELAYED') throw new ImapSyntaxError('MessageNew fetch attributes are for the selected mailbox only');
        fetchAtts = next.items;
        k++;
      }
    }
    if (ev.items.length === 0) throw new ImapSyntaxError('Empty event list');
  }
  if (badEvent) return { badEvent: true };
  const message = ['MessageNew', 'MessageExpunge'].filter((e) => events.has(e as NotifyEvent)).length;
  // RFC 5465 §5.2, §5.3: for the selected mailbox, MessageNew and MessageExpunge go together, and
  // FlagChange needs both (the client could not keep its message numbers right otherwise).
  if ((filter === 'SELECTED' || filter === 'SELECTED-DELAYED') && (message === 1 || (events.has('FlagChange') && message < 2))) {
    throw new ImapSyntaxError('MessageNew, MessageExpunge (and FlagChange) go together for the selected mailbox');
  }
  return { filter, names, events, fetchAtts };
}

export const NOTIFY: CommandSpec = {
  states: ['authenticated', 'selected'],
  async handle(ctx, args) {
    const s = ctx.session;
    const verb = args.atom('NOTIFY subcommand').toUpperCase();
    if (verb === 'NONE') {
      args.end();
      // RFC 5465 §3.2: no more notifications (the selected mailbox is reported as without NOTIFY).
      s.notify = null;
      return ok('NOTIFY completed');
    }
    if (verb !== 'SET') throw new ImapSyntaxError('NOTIFY SET or NOTIFY NONE');
    const status = args.optionalKeyword('STATUS') !== null;
    const groups: EventGroup[] = [];
    let badEvent = false;
    while (args.remaining > 0) {
      const g = parseGroup(ctx, args.list('event group'));
      if ('badEvent' in g) badEvent = true;
      else groups.push(g);
    }
    if (groups.length === 0 && !badEvent) throw new ImapSyntaxError('NOTIFY SET needs an event group');
    if (groups.filter((g) => g.filter === 'SELECTED' || g.filter === 'SELECTED-DELAYED').length > 1) return bad('SELECTED and SELECTED-DELAYED may be given once');
    // RFC 5465 §3.1: an event the server does not support makes the whole command fail, nothing changed.
    if (badEvent) return no('Unsupported event', `BADEVENT (${SUPPORTED.join(' ')})`);
    const state = new NotifyState(groups);
    const account = s.account!;
    const [mailboxes, subscriptions] = await Promise.all([account.listMailboxes(), account.listSubscriptions()]);
    const subscribed = new Set(subscriptions);
    for (const m of mailboxes) state.known.set(m.name, subscribed.has(m.name));
    s.notify = state;
    if (status) {
      // RFC 5465 §3.1 STATUS: the current STATUS of every mailbox a group covers, the selected one excepted.
      const selected = s.state.kind === 'selected' ? s.state.mailbox.name : null;
      for (const m of mailboxes) {
        const g = state.groupOf(m.name, subscribed.has(m.name));
        const items = g === null ? [] : statusItems(g.events);
        if (m.name === selected || items.length === 0) continue;
        const line = await statusLine(ctx, m.name, items, { unsolicited: true });
        if (line !== null) ctx.untagged(line);
      }
    }
    return ok('NOTIFY completed');
  },
};

function listLine(s: ImapSessionCore, name: string, attrs: string[]): string {
  return `LIST (${attrs.join(' ')}) "/" ${formatString(encodeMailboxName(name, { utf8: s.utf8Names }), { utf8: s.utf8Names })}`;
}

/**
 * The unsolicited responses for the changes noted since the last call: LIST for mailboxes created,
 * deleted (\NonExistent), renamed (both) or (un)subscribed (RFC 5465 §5.4, §5.5), STATUS for other
 * mailboxes with new, expunged or changed messages (§5.1-§5.3); `untagged` collects them.
 */
export async function notifyLines(s: ImapSessionCore, state: NotifyState, untagged: (line: string) => void): Promise<void> {
  const pending = new Map(state.pending);
  state.pending.clear();
  const metadata = new Map(state.metadata);
  state.metadata.clear();
  if (pending.size === 0 && metadata.size === 0) return;
  const account = s.account!;
  const selectedId = s.state.kind === 'selected' ? s.state.mailbox.id : 0;
  const [mailboxes, subscriptions] = await Promise.all([account.listMailboxes(), account.listSubscriptions()]);
  const subscribed = new Set(subscriptions);
  const reset = pending.has(0) && pending.get(0)!.has('reset');
  if (pending.has(0) || reset) {
    const now = new Map(mailboxes.map((m) => [m.name, subscribed.has(m.name)] as const));
    for (const [name, sub] of now) {
      const was = state.known.get(name);
      const g = state.groupOf(name, sub || was === true);
      if (g === null) continue;
      if (was === undefined && g.events.has('MailboxName')) untagged(listLine(s, name, sub ? ['\\Subscribed'] : []));
      else if (was !== undefined && was !== sub && g.events.has('SubscriptionChange')) untagged(listLine(s, name, sub ? ['\\Subscribed'] : []));
    }
    for (const [name, was] of state.known) {
      if (now.has(name)) continue;
      const g = state.groupOf(name, was);
      if (g !== null && g.events.has('MailboxName')) untagged(listLine(s, name, ['\\NonExistent']));
    }
    state.known = now;
  }
  const ctx: CommandContext = { tag: '*', verb: 'NOTIFY', isUid: false, session: s, untagged, raw: () => undefined };
  for (const m of mailboxes) {
    const g = state.groupOf(m.name, subscribed.has(m.name));
    if (g === null) continue;
    if (m.id === selectedId) continue;
    const kinds = reset ? new Set<ImapChange['kind']>(['append', 'expunge', 'flags']) : pending.get(m.id);
    if (kinds === undefined) continue;
    const events = [...kinds].map((k) => EVENT_OF[k]).filter((e): e is NotifyEvent => e !== undefined && g.events.has(e));
    const items = statusItems(events);
    if (items.length === 0) continue;
    const line = await statusLine(ctx, m.name, items, { unsolicited: true });
    if (line !== null) untagged(line);
  }
  if (metadata.size > 0) await metadataLines(s, state, metadata, { mailboxes, subscribed }, untagged);
}

/**
 * RFC 5465 §5.6, §5.7 with RFC 5464 §4.4.2: an unsolicited METADATA response naming the entries that
 * changed, without their values (the client reads them with GETMETADATA), for the server ("") when a
 * group asks for ServerMetadataChange, and for each mailbox whose group asks for MailboxMetadataChange
 * (the selected mailbox too: SELECTED and SELECTED-DELAYED name message events, other groups cover it).
 */
async function metadataLines(s: ImapSessionCore, state: NotifyState, changed: Map<number, Set<string>>, list: { mailboxes: ImapMailboxInfo[]; subscribed: Set<string> }, untagged: (line: string) => void): Promise<void> {
  const utf8 = s.utf8Names;
  const entries = (set: Set<string>): string => [...set].sort().join(' ');
  const server = changed.get(0);
  if (server !== undefined && server.size > 0 && state.watchesServerMetadata) untagged(`METADATA "" ${entries(server)}`);
  if (![...changed.keys()].some((id) => id !== 0)) return;
  for (const { id, name } of list.mailboxes) {
    const group = state.groupOf(name, list.subscribed.has(name));
    if (group === null || !group.events.has('MailboxMetadataChange')) continue;
    const set = changed.get(id);
    if (set === undefined || set.size === 0) continue;
    untagged(`METADATA ${formatString(encodeMailboxName(name, { utf8 }), { utf8 })} ${entries(set)}`);
  }
}

/**
 * RFC 5465 §5.1: the FETCH responses the SELECTED group's MessageNew asked for, for messages with UIDs
 * from `uidFrom` on, produced by UID FETCH itself.
 */
export async function newMessageFetches(s: ImapSessionCore, atts: Token[], uidFrom: number, uidTo: number): Promise<(string | Buffer)[]> {
  const out: (string | Buffer)[] = [];
  const ctx: CommandContext = { tag: '*', verb: 'UID FETCH', isUid: true, session: s, untagged: (l) => out.push(`* ${l}\r\n`), raw: (...parts) => out.push(...parts.filter((p): p is string | Buffer => typeof p === 'string' || Buffer.isBuffer(p))) };
  const r = await FETCH.handle(ctx, new Args([{ type: 'atom', value: `${uidFrom}:${uidTo}` }, { type: 'list', items: atts }]));
  if (r !== null && r.status === 'DEFERRED') {
    const gen = r.produce();
    for (;;) {
      const n = await gen.next();
      if (n.done === true) break;
      out.push(n.value);
    }
  }
  return out;
}
