/**
 * A scriptable SMTP server for tests of outbound delivery: per-recipient replies (250/4xx/5xx), optional
 * STARTTLS and AUTH, configurable EHLO features or HELO only; records every message byte for byte.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface SmtpSinkOptions {
  host?: string;
  /** Listen on this port (default: an ephemeral one); several sinks on 127.0.0.N can share one port. */
  port?: number;
  hostname?: string;
  /** Full greeting line, e.g. '421 4.3.2 busy' (default 220). */
  greeting?: string;
  /** EHLO features; false: EHLO is answered 502 (a HELO-only server). */
  features?: string[] | false;
  /** Adds STARTTLS; the key and certificate (PEM) to use. */
  tls?: { key: string; cert: string };
  auth?: { username: string; password: string };
  /** The reply line for MAIL FROM (default 250 2.1.0 OK). */
  mail?: (reversePath: string, params: string) => string | undefined;
  /** The reply line for each RCPT TO (default 250 2.1.5 OK). */
  rcpt?: (address: string, params: string) => string | undefined;
  /**
   * The reply line after the final dot (default 250 2.0.0 queued); `null` holds it (never answered: a peer the
   * sender waits on, e.g. until a crash); a promise holds it until it resolves.
   */
  data?: (message: ReceivedMessage) => string | null | undefined | Promise<string>;
  /** Accept connections but never answer (timeouts). */
  silent?: boolean;
}

export interface ReceivedMessage {
  reversePath: string;
  mailParams: string;
  recipients: string[];
  rcptParams: string[];
  /** Data after dot-unstuffing, without the terminating ".": the message as the peer stores it. */
  data: Buffer;
  /** Bytes exactly as they came on the wire after 354, terminator included. */
  raw: Buffer;
  tls: boolean;
  authUser: string | null;
}

export interface SmtpSinkHandle {
  port: number;
  host: string;
  messages: ReceivedMessage[];
  /** Every command line received, per connection. */
  sessions: string[][];
  /** Connections open now (a client that never closes its session shows here). */
  readonly openConnections: number;
  setOptions(options: Partial<SmtpSinkOptions>): void;
  /** Resolves when `count` messages have been received. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  stop(): Promise<void>;
}

const DEFAULT_FEATURES = ['PIPELINING', '8BITMIME', 'SIZE 10485760', 'ENHANCEDSTATUSCODES', 'DSN', 'SMTPUTF8'];
const TERMINATOR = Buffer.from('\r\n.\r\n');

export async function startSmtpSink(initial: SmtpSinkOptions = {}): Promise<SmtpSinkHandle> {
  let options = { ...initial };
  const messages: ReceivedMessage[] = [];
  const sessions: string[][] = [];
  const sockets = new Set<Socket>();
  const waiters: (() => void)[] = [];

  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    const transcript: string[] = [];
    sessions.push(transcript);
    if (options.silent) return;
    let socket: Socket = raw;
    let buf = Buffer.alloc(0);
    let inData = false;
    let isTls = false;
    let authUser: string | null = null;
    let authStep: { mech: 'LOGIN'; user?: string } | null = null;
    let tx: { reversePath: string; mailParams: string; recipients: string[]; rcptParams: string[] } | null = null;
    const hostname = options.hostname ?? 'sink.test';
    const send = (line: string) => socket.write(line + '\r\n');

    let holding = false;
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (holding) return;
      for (;;) {
        if (inData) {
          const atStart = buf.subarray(0, 3).equals(Buffer.from('.\r\n'));
          const idx = atStart ? -2 : buf.indexOf(TERMINATOR);
          if (!atStart && idx < 0) return;
          const end = atStart ? 3 : idx + TERMINATOR.length;
          const rawData = buf.subarray(0, end);
          buf = buf.subarray(end);
          inData = false;
          const content = atStart ? Buffer.alloc(0) : Buffer.from(rawData.subarray(0, idx + 2));
          const lines = content.toString('latin1').split('\r\n');
          const data = Buffer.from(lines.map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n'), 'latin1');
          const msg: ReceivedMessage = { ...tx!, data, raw: Buffer.from(rawData), tls: isTls, authUser };
          tx = null;
          const scripted = options.data?.(msg);
          if (scripted === null) continue;
          const answer = (reply: string): void => {
            if (reply.startsWith('2')) {
              messages.push(msg);
              waiters.splice(0).forEach((w) => w());
            }
            send(reply);
          };
          if (scripted instanceof Promise) {
            // Commands pipelined behind the dot wait for its reply (replies go out in order).
            holding = true;
            void scripted.then((reply) => {
              holding = false;
              answer(reply);
              onData(Buffer.alloc(0));
            });
            return;
          }
          answer(scripted ?? '250 2.0.0 queued');
          continue;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        buf = buf.subarray(nl + 1);
        transcript.push(line);
        if (authStep) {
          if (!authStep.user) {
            authStep.user = Buffer.from(line, 'base64').toString();
            send('334 UGFzc3dvcmQ6');
          } else {
            const ok = authStep.user === options.auth?.username && Buffer.from(line, 'base64').toString() === options.auth?.password;
            if (ok) authUser = authStep.user;
            authStep = null;
            send(ok ? '235 2.7.0 OK' : '535 5.7.8 bad credentials');
          }
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        const arg = line.slice(verb.length).trim();
        switch (verb) {
          case 'EHLO': {
            if (options.features === false) {
              send('502 5.5.2 command not recognized');
              break;
            }
            const features = [...(options.features ?? DEFAULT_FEATURES)];
            if (options.tls && !isTls) features.push('STARTTLS');
            if (options.auth) features.push('AUTH PLAIN LOGIN');
            const all = [`${hostname} hello`, ...features];
            all.forEach((f, i) => send(`250${i === all.length - 1 ? ' ' : '-'}${f}`));
            break;
          }
          case 'HELO':
            send(`250 ${hostname}`);
            break;
          case 'STARTTLS': {
            if (!options.tls) {
              send('502 5.5.1 no TLS');
              break;
            }
            send('220 2.0.0 go ahead');
            socket.removeListener('data', onData);
            buf = Buffer.alloc(0);
            const secure = new TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert });
            secure.on('error', () => undefined);
            isTls = true; // no data flows before the handshake completes
            socket = secure;
            secure.on('data', onData);
            return;
          }
          case 'AUTH': {
            const [mech, ir] = arg.split(' ');
            if (mech?.toUpperCase() === 'PLAIN' && ir) {
              const [, user, pass] = Buffer.from(ir, 'base64').toString().split('\0');
              const ok = user === options.auth?.username && pass === options.auth?.password;
              if (ok) authUser = user!;
              send(ok ? '235 2.7.0 OK' : '535 5.7.8 bad credentials');
            } else if (mech?.toUpperCase() === 'LOGIN') {
              authStep = { mech: 'LOGIN' };
              send('334 VXNlcm5hbWU6');
            } else send('504 5.5.4 unsupported');
            break;
          }
          case 'MAIL': {
            const m = /^FROM:\s*<([^>]*)>\s*(.*)$/i.exec(arg);
            if (!m) {
              send('501 5.5.4 syntax');
              break;
            }
            // RFC 5321 §4.1.4: MAIL while a transaction is open is out of sequence.
            if (tx) {
              send('503 5.5.1 nested MAIL command');
              break;
            }
            const reply = options.mail?.(m[1]!, m[2]!) ?? '250 2.1.0 OK';
            if (reply.startsWith('2')) tx = { reversePath: m[1]!, mailParams: m[2]!, recipients: [], rcptParams: [] };
            send(reply);
            break;
          }
          case 'RCPT': {
            const m = /^TO:\s*<([^>]*)>\s*(.*)$/i.exec(arg);
            if (!tx) send('503 5.5.1 need MAIL');
            else if (!m) send('501 5.5.4 syntax');
            else {
              const reply = options.rcpt?.(m[1]!, m[2]!) ?? '250 2.1.5 OK';
              if (reply.startsWith('2')) {
                tx.recipients.push(m[1]!);
                tx.rcptParams.push(m[2]!);
              }
              send(reply);
            }
            break;
          }
          case 'DATA':
            if (!tx || tx.recipients.length === 0) send('554 5.5.1 no valid recipients');
            else {
              inData = true;
              send('354 go ahead');
            }
            break;
          case 'RSET':
            tx = null;
            send('250 2.0.0 OK');
            break;
          case 'NOOP':
            send('250 2.0.0 OK');
            break;
          case 'QUIT':
            send('221 2.0.0 bye');
            socket.end();
            return;
          default:
            send('500 5.5.2 unknown command');
        }
      }
    };
    socket.on('data', onData);
    send(options.greeting ?? `220 ${hostname} ESMTP sink`);
  });

  const host = initial.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(initial.port ?? 0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    host,
    messages,
    sessions,
    get openConnections() {
      return sockets.size;
    },
    setOptions(next) {
      options = { ...options, ...next };
    },
    async waitForMessages(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`sink: ${messages.length}/${count} messages after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return messages;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
