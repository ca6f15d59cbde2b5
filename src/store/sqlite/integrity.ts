/**
 * The start-up integrity check of stored bodies: finds mailbox messages and queue entries whose blob is
 * missing or whose inline data / chunks do not add up to the recorded size (a torn or damaged file).
 * Only lengths are compared (SQLite answers length() without reading the bytes), so it is cheap.
 */
import type { CorruptBody, IntegrityOptions, IntegrityReport } from '../types.ts';
import type { SqliteDatabase } from './database.ts';

// A blob is bad when its row is gone, its inline data is shorter or longer than `size`, or (chunked) its
// chunks are not exactly seq 0..n-1 adding up to `size`.
const BAD_BLOB = `(
  b.id IS NULL
  OR (b.data IS NOT NULL AND length(b.data) != b.size)
  OR (b.data IS NULL AND b.size > 0 AND (
    SELECT coalesce(sum(length(c.data)), -1) != b.size OR count(*) != coalesce(max(c.seq), -1) + 1
    FROM blob_chunks c WHERE c.blob_id = b.id))
)`;

export function checkIntegrity(db: SqliteDatabase, options: IntegrityOptions): IntegrityReport {
  const began = Date.now();
  const corrupt: CorruptBody[] = [];
  const queueRows = db
    .prepare(`SELECT q.id AS queueId, q.blob_id AS blobId, b.id IS NULL AS missing FROM queue_messages q LEFT JOIN blobs b ON b.id = q.blob_id WHERE ${BAD_BLOB}`)
    .all() as Array<{ queueId: string; blobId: number; missing: number }>;
  for (const r of queueRows) corrupt.push({ kind: 'queue', blobId: r.blobId, problem: r.missing ? 'missing' : 'truncated', queueId: r.queueId });
  const checkedQueue = (db.prepare('SELECT count(*) AS n FROM queue_messages').get() as { n: number }).n;

  let checkMessages = options.mailboxes === true;
  const messageCount = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  if (options.mailboxes === 'auto') checkMessages = messageCount <= (options.autoLimit ?? 100_000);
  if (checkMessages) {
    const rows = db
      .prepare(
        `SELECT m.mailbox_id AS mailboxId, mb.name AS mailbox, a.address AS account, m.uid AS uid, m.blob_id AS blobId, b.id IS NULL AS missing
         FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id JOIN accounts a ON a.id = mb.account_id
         LEFT JOIN blobs b ON b.id = m.blob_id WHERE ${BAD_BLOB}`,
      )
      .all() as Array<{ mailboxId: number; mailbox: string; account: string; uid: number; blobId: number; missing: number }>;
    for (const r of rows) corrupt.push({ kind: 'message', blobId: r.blobId, problem: r.missing ? 'missing' : 'truncated', mailboxId: r.mailboxId, mailbox: r.mailbox, account: r.account, uid: r.uid });
  }
  return { corrupt, checkedQueue, checkedMessages: checkMessages ? messageCount : null, ms: Date.now() - began };
}
