/**
 * The task loop of a delivery thread: owns the outbound SMTP connections the runner opens here, reads each
 * queued body through a read-only store connection of its own, checks the hop count, encodes and sends it,
 * and answers with the peer's replies. Results are recorded by the runner on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hasEightBit } from '../protocols/smtp/client-data.ts';
import { openQueueBodyReader } from '../store/queue-body-reader.ts';
import type { DeliveryThreadData, FromThread, ToThread } from './delivery-protocol.ts';
import { countReceivedHeaders } from './dsn.ts';
import { SmtpConnection } from './smtp-connection.ts';

const port = parentPort!;
const data = workerData as DeliveryThreadData;
const bodies = openQueueBodyReader(data.source);
const connections = new Map<number, SmtpConnection>();

function post(message: FromThread): void {
  port.postMessage(message);
}

async function open(message: Extract<ToThread, { type: 'open' }>): Promise<void> {
  const opened = await SmtpConnection.open(message.options);
  if (!opened.ok) {
    post({ type: 'opened', conn: message.conn, ok: false, reply: opened.reply, stage: opened.stage, connected: opened.connected });
    return;
  }
  const conn = opened.connection;
  connections.set(message.conn, conn);
  conn.onClose(() => {
    connections.delete(message.conn);
    post({ type: 'closed', conn: message.conn });
  });
  post({ type: 'opened', conn: message.conn, ok: true, tls: conn.tlsProtocol });
}

async function send(message: Extract<ToThread, { type: 'send' }>): Promise<void> {
  const conn = connections.get(message.conn);
  if (!conn?.isUsable) {
    post({ type: 'sent', conn: message.conn, result: null, loop: null, usable: false });
    return;
  }
  const body = bodies.read(message.queueId);
  const hops = countReceivedHeaders(body);
  if (hops > message.maxHops) {
    post({ type: 'sent', conn: message.conn, result: null, loop: hops, usable: conn.isUsable });
    return;
  }
  const result = await conn.send({ ...message.tx, size: body.length, needs8bit: hasEightBit(body) }, body);
  post({ type: 'sent', conn: message.conn, result, loop: null, usable: conn.isUsable });
}

port.on('message', (message: ToThread) => {
  const run = message.type === 'open' ? open(message) : message.type === 'send' ? send(message) : connections.get(message.conn)?.close() ?? Promise.resolve(post({ type: 'closed', conn: message.conn }));
  run.catch((err: unknown) => post({ type: 'failed', conn: message.conn, error: err instanceof Error ? err.message : String(err) }));
});

port.on('close', () => bodies.close());
post({ type: 'ready' });
