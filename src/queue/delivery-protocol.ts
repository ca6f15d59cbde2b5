/**
 * Messages between the queue runner (main thread) and a delivery thread: the runner opens connections and
 * hands out transactions by queue id; the thread reads the body itself, sends it and answers with the replies.
 */
import type { SmtpReply } from '../protocols/smtp/client-reply.ts';
import type { ClientTransaction, TransactionResult } from '../protocols/smtp/client-session.ts';
import type { QueueBodySource } from '../store/types.ts';
import type { SmtpConnectionOptions } from './smtp-connection.ts';

/** Connection options that can cross threads (a TLS check is a function: such connections stay in the main thread). */
export type ThreadConnectionOptions = Omit<SmtpConnectionOptions, 'tlsCheck'>;

/** A transaction whose size and 8-bit need the thread works out from the body it reads. */
export type QueuedTransaction = Omit<ClientTransaction, 'size' | 'needs8bit'>;

export interface DeliveryThreadData {
  source: QueueBodySource;
}

export type ToThread =
  | { type: 'open'; conn: number; options: ThreadConnectionOptions }
  | { type: 'send'; conn: number; queueId: string; tx: QueuedTransaction; maxHops: number }
  | { type: 'close'; conn: number };

export type FromThread =
  /** Its code is loaded and its store connection open: it takes connections from now on. */
  | { type: 'ready' }
  | { type: 'opened'; conn: number; ok: true; tls: string | null }
  | { type: 'opened'; conn: number; ok: false; reply: SmtpReply; stage: string; connected: boolean }
  /** `loop`: the body has more Received fields than maxHops; nothing was sent. `usable`: the connection can take another. */
  | { type: 'sent'; conn: number; result: TransactionResult | null; loop: number | null; usable: boolean }
  | { type: 'failed'; conn: number; error: string }
  /** The connection ended (the peer closed it, a timeout, or close was asked). */
  | { type: 'closed'; conn: number };
