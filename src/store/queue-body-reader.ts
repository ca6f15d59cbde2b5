/**
 * Opens a read-only reader of queued bodies for another thread, from the QueueStore's queueBodySource(); the
 * queue's delivery threads use it so that a body never crosses threads.
 */
import type { QueueBodySource } from './types.ts';
import { openSqliteQueueBodyReader } from './sqlite/queue-body-reader.ts';

export interface QueueBodyReader {
  /** The stored body of a queue entry; throws when it does not exist. */
  read(queueId: string): Buffer;
  close(): void;
}

export function openQueueBodyReader(source: QueueBodySource): QueueBodyReader {
  return openSqliteQueueBodyReader(source.path);
}
