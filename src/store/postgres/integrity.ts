/**
 * The start-up integrity check of stored bodies on PostgreSQL: mailbox messages and queue entries whose
 * chunks do not add up to the recorded size (foreign keys already keep every body row present).
 */
import type pg from 'pg';
import type { CorruptBody, IntegrityOptions, IntegrityReport } from '../types.ts';

// A blob is bad when its chunks are not exactly seq 0..n-1 adding up to `size`.
const BAD_BLOB = `(b.size > 0 AND (
  SELECT coalesce(sum(length(c.data)), -1) != b.size OR count(*) != coalesce(max(c.seq), -1) + 1
  FROM blob_chunks c WHERE c.blob_id = b.id))`;

export async function checkPgIntegrity(pool: pg.Pool, options: IntegrityOptions): Promise<IntegrityReport> {
  const began = Date.now();
  const corrupt: CorruptBody[] = [];
  const queueRows = await pool.query<{ queueId: string; blobId: string }>(`SELECT q.id AS "queueId", q.blob_id AS "blobId" FROM queue_messages q JOIN blobs b ON b.id = q.blob_id WHERE ${BAD_BLOB}`);
  for (const r of queueRows.rows) corrupt.push({ kind: 'queue', blobId: Number(r.blobId), problem: 'truncated', queueId: r.queueId });
  const checkedQueue = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM queue_messages')).rows[0]!.n);
  const messageCount = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]!.n);
  const checkMessages = options.mailboxes === 'auto' ? messageCount <= (options.autoLimit ?? 100_000) : options.mailboxes;
  if (checkMessages) {
    const rows = await pool.query<{ mailboxId: string; mailbox: string; account: string; uid: string; blobId: string }>(
      `SELECT m.mailbox_id AS "mailboxId", mb.name AS mailbox, a.address AS account, m.uid AS uid, m.blob_id AS "blobId"
       FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id JOIN accounts a ON a.id = mb.account_id
       JOIN blobs b ON b.id = m.blob_id WHERE ${BAD_BLOB}`,
    );
    for (const r of rows.rows) corrupt.push({ kind: 'message', blobId: Number(r.blobId), problem: 'truncated', mailboxId: Number(r.mailboxId), mailbox: r.mailbox, account: r.account, uid: Number(r.uid) });
  }
  return { corrupt, checkedQueue, checkedMessages: checkMessages ? messageCount : null, ms: Date.now() - began };
}
