/**
 * Reads queued bodies through a read-only connection of its own (a delivery thread's): in WAL mode it
 * never blocks the writer, and it sees only committed rows, as the claims that name the bodies do.
 */
import Database from 'better-sqlite3';
import { BlobTable } from './blobs.ts';

export interface SqliteQueueBodyReader {
  read(queueId: string): Buffer;
  close(): void;
}

export function openSqliteQueueBodyReader(path: string): SqliteQueueBodyReader {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const blobs = new BlobTable(db);
  const row = db.prepare('SELECT blob_id, blob_offset, size FROM queue_messages WHERE id = ?');
  return {
    read(queueId) {
      const r = row.get(queueId) as { blob_id: number; blob_offset: number; size: number } | undefined;
      if (!r) throw new Error(`queue message ${queueId} does not exist`);
      return blobs.read(r.blob_id, r.blob_offset, r.blob_offset + r.size);
    },
    close: () => db.close(),
  };
}
