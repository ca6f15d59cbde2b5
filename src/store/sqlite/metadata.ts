/**
 * IMAP METADATA entries (RFC 5464) on SQLite: per account for the server, per mailbox for mailboxes.
 */
import type { MetadataEntry, MetadataStore } from '../types.ts';
import type { SqliteDatabase } from './database.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import { entriesAfter } from '../metadata-count.ts';

export function sqliteMetadataStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): MetadataStore {
  const { db, changes: feed } = deps;
  const q = {
    owned: db.prepare('SELECT 1 FROM mailboxes WHERE id = ? AND account_id = ?').pluck(),
    listServer: db.prepare('SELECT entry, value FROM server_metadata WHERE account_id = ? ORDER BY entry'),
    listMailbox: db.prepare('SELECT d.entry, d.value FROM mailbox_metadata d JOIN mailboxes m ON m.id = d.mailbox_id WHERE d.mailbox_id = ? AND m.account_id = ? ORDER BY d.entry'),
    namesServer: db.prepare('SELECT entry FROM server_metadata WHERE account_id = ?').pluck(),
    namesMailbox: db.prepare('SELECT entry FROM mailbox_metadata WHERE mailbox_id = ?').pluck(),
    putServer: db.prepare('INSERT INTO server_metadata (account_id, entry, value) VALUES (?, ?, ?) ON CONFLICT (account_id, entry) DO UPDATE SET value = excluded.value'),
    putMailbox: db.prepare('INSERT INTO mailbox_metadata (mailbox_id, entry, value) VALUES (?, ?, ?) ON CONFLICT (mailbox_id, entry) DO UPDATE SET value = excluded.value'),
    dropServer: db.prepare('DELETE FROM server_metadata WHERE account_id = ? AND entry = ?'),
    dropMailbox: db.prepare('DELETE FROM mailbox_metadata WHERE mailbox_id = ? AND entry = ?'),
  };
  return {
    async listMetadata(accountId, mailboxId) {
      const rows = (mailboxId === null ? q.listServer.all(accountId) : q.listMailbox.all(mailboxId, accountId)) as { entry: string; value: Buffer }[];
      return rows.map((r): MetadataEntry => ({ entry: r.entry, value: r.value }));
    },
    async setMetadata(accountId, mailboxId, changes, options) {
      return feed.write((log) => {
        if (mailboxId !== null && q.owned.get(mailboxId, accountId) === undefined) return 'nonexistent' as const;
        const names = (mailboxId === null ? q.namesServer.all(accountId) : q.namesMailbox.all(mailboxId)) as string[];
        if (entriesAfter(names, changes) > options.maxEntries) return 'toomany' as const;
        const owner = mailboxId ?? accountId;
        for (const c of changes) {
          if (c.value === null) (mailboxId === null ? q.dropServer : q.dropMailbox).run(owner, c.entry);
          else (mailboxId === null ? q.putServer : q.putMailbox).run(owner, c.entry, c.value);
        }
        // Other sessions and processes hear which entries changed (IMAP NOTIFY, RFC 5465 §5.6, §5.7).
        if (changes.length > 0) log.push({ kind: 'metadata', accountId, mailbox: mailboxId, entries: changes.map((c) => c.entry) });
        return 'ok' as const;
      });
    },
  };
}
