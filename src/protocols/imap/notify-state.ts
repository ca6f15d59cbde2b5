/**
 * A session's NOTIFY SET (RFC 5465): its event groups (mailbox filter, events, FETCH attributes), which
 * group covers a mailbox, and the changes noted but not reported yet (with their count, RFC 5465 §5.8).
 */
import type { ImapChange } from './backend.ts';
import type { Token } from './parser/tokenizer.ts';

export type Filter = 'SELECTED' | 'SELECTED-DELAYED' | 'INBOXES' | 'PERSONAL' | 'SUBSCRIBED' | 'SUBTREE' | 'MAILBOXES';
export type NotifyEvent = 'MessageNew' | 'MessageExpunge' | 'FlagChange' | 'MailboxName' | 'SubscriptionChange' | 'MailboxMetadataChange' | 'ServerMetadataChange';

export interface EventGroup {
  filter: Filter;
  /** SUBTREE and MAILBOXES: the mailbox names given. */
  names: string[];
  events: Set<NotifyEvent>;
  /** RFC 5465 §5.1: FETCH attributes sent for each new message of the selected mailbox. */
  fetchAtts: Token[] | null;
}

/** A session's NOTIFY SET, with what it last told the client about the mailbox list. */
export class NotifyState {
  /** Mailbox names → subscribed, as last reported (for MailboxName and SubscriptionChange). */
  known = new Map<string, boolean>();
  /** Changes not reported yet, by mailbox id (0: the mailbox list changed). */
  readonly pending = new Map<number, Set<ImapChange['kind']>>();
  /** METADATA entry names changed and not reported yet, by mailbox id (0: the server's entries). */
  readonly metadata = new Map<number, Set<string>>();
  scheduled = false;
  constructor(readonly groups: EventGroup[]) {}

  get selectedGroup(): EventGroup | null {
    return this.groups.find((g) => g.filter === 'SELECTED' || g.filter === 'SELECTED-DELAYED') ?? null;
  }

  /** Notifications held undelivered: a mailbox with changes, the mailbox list, each changed METADATA entry. */
  get held(): number {
    let n = this.pending.size;
    for (const entries of this.metadata.values()) n += entries.size;
    return n;
  }

  /** RFC 5465 §5.7: server METADATA changes are reported when any group asks for them, whatever its mailboxes. */
  get watchesServerMetadata(): boolean {
    return this.groups.some((g) => g.events.has('ServerMetadataChange'));
  }

  get watchesList(): boolean {
    return this.groups.some((g) => g.events.has('MailboxName') || g.events.has('SubscriptionChange'));
  }

  /** RFC 5465 §6: the first group whose mailbox filter covers `name`; the selected mailbox is not one of them. */
  groupOf(name: string, subscribed: boolean): EventGroup | null {
    for (const g of this.groups) {
      switch (g.filter) {
        case 'SELECTED': case 'SELECTED-DELAYED': break;
        case 'PERSONAL': return g;
        // The mailboxes new mail is delivered to: INBOX here.
        case 'INBOXES': if (name === 'INBOX') return g; break;
        case 'SUBSCRIBED': if (subscribed) return g; break;
        case 'SUBTREE': if (g.names.some((n) => name === n || name.startsWith(n + '/'))) return g; break;
        case 'MAILBOXES': if (g.names.includes(name)) return g; break;
      }
    }
    return null;
  }

  note(change: ImapChange): void {
    if (change.kind === 'metadata') {
      // Held (and counted toward the overflow) only when some group asks for this kind of change: server
      // entries when ServerMetadataChange is watched, mailbox entries when any group has MailboxMetadataChange.
      // Whether the group covering that mailbox asked is decided at flush, so such entries are still held.
      const wanted = change.mailboxId === 0 ? this.watchesServerMetadata : this.groups.some((g) => g.events.has('MailboxMetadataChange'));
      if (!wanted) return;
      const entries = this.metadata.get(change.mailboxId) ?? new Set<string>();
      for (const e of change.entries ?? []) entries.add(e);
      this.metadata.set(change.mailboxId, entries);
      return;
    }
    const kinds = this.pending.get(change.mailboxId) ?? new Set();
    kinds.add(change.kind);
    this.pending.set(change.mailboxId, kinds);
  }
}
