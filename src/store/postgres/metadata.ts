/**
 * IMAP METADATA entries (RFC 5464) on PostgreSQL: per account for the server, per mailbox for mailboxes.
 */
import type pg from 'pg';
import type { MetadataEntry, MetadataStore } from '../types.ts';
import type { PgChangeFeed } from './change-feed.ts';
import { entriesAfter } from '../metadata-count.ts';

export function pgMetadataStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): MetadataStore {
  const { pool, changes } = deps;
  return {
    async listMetadata(accountId, mailboxId) {
      const res = mailboxId === null
        ? await pool.query<{ entry: string; value: Buffer }>('SELECT entry, value FROM server_metadata WHERE account_id = $1 ORDER BY entry', [accountId])
        : await pool.query<{ entry: string; value: Buffer }>(
            'SELECT d.entry, d.value FROM mailbox_metadata d JOIN mailboxes m ON m.id = d.mailbox_id WHERE d.mailbox_id = $1 AND m.account_id = $2 ORDER BY d.entry',
            [mailboxId, accountId],
          );
      return res.rows.map((r): MetadataEntry => ({ entry: r.entry, value: r.value }));
    },
    async setMetadata(accountId, mailboxId, list, options) {
      return changes.write(async (c, log) => {
        if (mailboxId !== null) {
          // The account is locked for the write (lockAccounts): a concurrent SETMETADATA counts after this one.
          const owned = await c.query('SELECT 1 FROM mailboxes WHERE id = $1 AND account_id = $2', [mailboxId, accountId]);
          if (owned.rows.length === 0) return 'nonexistent' as const;
        }
        const names = mailboxId === null
          ? await c.query<{ entry: string }>('SELECT entry FROM server_metadata WHERE account_id = $1', [accountId])
          : await c.query<{ entry: string }>('SELECT entry FROM mailbox_metadata WHERE mailbox_id = $1', [mailboxId]);
        if (entriesAfter(names.rows.map((r) => r.entry), list) > options.maxEntries) return 'toomany' as const;
        for (const e of list) {
          if (mailboxId === null) {
            if (e.value === null) await c.query('DELETE FROM server_metadata WHERE account_id = $1 AND entry = $2', [accountId, e.entry]);
            else await c.query('INSERT INTO server_metadata (account_id, entry, value) VALUES ($1, $2, $3) ON CONFLICT (account_id, entry) DO UPDATE SET value = excluded.value', [accountId, e.entry, e.value]);
          } else if (e.value === null) await c.query('DELETE FROM mailbox_metadata WHERE mailbox_id = $1 AND entry = $2', [mailboxId, e.entry]);
          else await c.query('INSERT INTO mailbox_metadata (mailbox_id, entry, value) VALUES ($1, $2, $3) ON CONFLICT (mailbox_id, entry) DO UPDATE SET value = excluded.value', [mailboxId, e.entry, e.value]);
        }
        // Other sessions and nodes hear which entries changed (IMAP NOTIFY, RFC 5465 §5.6, §5.7).
        if (list.length > 0) log.push({ kind: 'metadata', accountId, mailbox: mailboxId, entries: list.map((e) => e.entry) });
        return 'ok' as const;
      }, { lockAccounts: [accountId] });
    },
  };
}
