/**
 * The listener and connection driver on real sockets (127.0.0.1, port 0) with the SMTP engine: pipelined
 * transactions, STARTTLS with a self-signed certificate and the plaintext-injection discard, limits,
 * timeouts, half-close, shutdown, engine failures and DEFLATE.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../core/log.ts';
import type { EngineContext, EngineOutput, StreamEngine } from '../protocols/engine.ts';
import type { MessageSink, SmtpServerHooks } from '../protocols/smtp/hooks.ts';
import { SmtpServerSession } from '../protocols/smtp/server-session.ts';
import type { SmtpServerLimits } from '../protocols/smtp/session-state.ts';
import { ConnectionDriver } from './connection-driver.ts';
import { startListener, type Listener } from './listener.ts';
import { TlsProvider } from './tls.ts';

const logger = silentLogger();
let dataDir = '';
let provider: TlsProvider;

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'postamt-transport-'));
  provider = new TlsProvider({ files: null, dataDir, hostname: 'mx.test', logger });
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

interface Received {
  bodies: string[];
  tlsSeen: (string | null)[];
}

function smtpFactory(received: Received, limits: Partial<SmtpServerLimits> = {}) {
  const hooks: SmtpServerHooks = {
    checkMailFrom: async () => ({ ok: true }),
    checkRcptTo: async () => ({ ok: true }),
    async beginMessage(envelope): Promise<MessageSink> {
      const chunks: Buffer[] = [];
      received.tlsSeen.push(envelope.tls?.protocol ?? null);
      return {
        write: (c) => chunks.push(c),
        commit: async () => {
          received.bodies.push(Buffer.concat(chunks).toString());
          return { ok: true };
        },
        abort: () => undefined,
      };
    },
  };
  return (context: EngineContext): StreamEngine => new SmtpServerSession({ context, hostname: 'mx.test', role: 'mx', hooks, starttlsAvailable: true, limits });
}

/** Reads from a socket until the collected text matches. */
function reader(socket: net.Socket | tls.TLSSocket) {
  let text = '';
  let closed = false;
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  socket.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  socket.on('error', () => undefined);
  return {
    get text() {
      return text;
    },
    get closed() {
      return closed;
    },
    async until(pattern: RegExp, timeoutMs = 3000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (closed) throw new Error(`closed before ${pattern}: ${JSON.stringify(text)}`);
        if (Date.now() > deadline) throw new Error(`timeout waiting for ${pattern}: ${JSON.stringify(text)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      const out = text;
      text = '';
      return out;
    },
    async closedWithin(timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!closed) {
        if (Date.now() > deadline) throw new Error('connection not closed');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

async function connect(listener: Listener, localAddress?: string): Promise<net.Socket> {
  const { port } = listener.address();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function withListener(
  options: { createEngine: (c: EngineContext) => StreamEngine; implicitTls?: boolean; limits?: { maxConnections?: number; maxConnectionsPerIp?: number } },
  run: (listener: Listener) => Promise<void>,
): Promise<void> {
  const listener = await startListener({
    name: 'test',
    host: '127.0.0.1',
    port: 0,
    implicitTls: options.implicitTls ?? false,
    tls: provider,
    createEngine: options.createEngine,
    limits: options.limits,
    logger,
  });
  try {
    await run(listener);
  } finally {
    await listener.close(500);
  }
}

/** The client side after the server's OK to COMPRESS: both directions raw DEFLATE (RFC 4978). */
function deflateClient(socket: net.Socket) {
  socket.removeAllListeners('data');
  const inflate = zlib.createInflateRaw();
  const deflate = zlib.createDeflateRaw();
  socket.pipe(inflate);
  deflate.on('data', (d: Buffer) => socket.write(d));
  let text = '';
  inflate.on('data', (d: Buffer) => (text += d.toString()));
  return {
    get text(): string {
      return text;
    },
    /** Sends a line and waits (up to 2 s) for its echo. */
    async say(line: string): Promise<void> {
      deflate.write(`${line}\r\n`);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH);
      const deadline = Date.now() + 2000;
      while (!text.includes(`echo ${line}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}

/** A tiny line echo engine: "COMPRESS" answers OK then deflates (RFC 4978); other lines are echoed. */
function compressEchoEngine(): StreamEngine {
  return {
    start: async () => ({ data: ['* ready\r\n'] }),
    receive: async (chunk): Promise<EngineOutput> => {
      const text = chunk.toString();
      if (text.startsWith('COMPRESS')) return { data: ['OK\r\n'], then: 'deflate' };
      return { data: [`echo ${text}`] };
    },
    tlsStarted: () => undefined,
    idleTimeout: () => ({ data: [] }),
    shutdown: () => ({ data: [] }),
    closed: () => undefined,
    idleTimeoutMs: 10_000,
  };
}

describe('connection driver with the SMTP engine', () => {
  it('runs a pipelined transaction and closes after QUIT', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received) }, async (listener) => {
      const socket = await connect(listener);
      const r = reader(socket);
      assert.match(await r.until(/^220 /m), /^220 mx\.test ESMTP/);
      socket.write('EHLO client\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nHello\r\n..dot\r\n.\r\nQUIT\r\n');
      const out = await r.until(/^221 /m);
      assert.match(out, /250 2\.1\.0 [^]*250 2\.1\.5 [^]*354 [^]*250 2\.0\.0 Ok: queued[^]*221 2\.0\.0/);
      await r.closedWithin();
      assert.deepEqual(received.bodies, ['Hello\r\n.dot\r\n']);
    });
  });

  it('answers what a half-closing client sent before its FIN', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received) }, async (listener) => {
      const socket = await connect(listener);
      const r = reader(socket);
      socket.end('EHLO client\r\nNOOP\r\n');
      await r.closedWithin();
      assert.match(r.text, /^220 [^]*250 HELP\r\n250 2\.0\.0 Ok\r\n$/);
    });
  });

  it('upgrades with STARTTLS, drops plaintext pipelined after it, and needs EHLO again', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received) }, async (listener) => {
      const socket = await connect(listener);
      const r = reader(socket);
      await r.until(/^220 /m);
      // The injected MAIL FROM (CVE-2011-0411) arrives in the same packet as STARTTLS.
      socket.write('EHLO client\r\nSTARTTLS\r\nMAIL FROM:<injected@example.net>\r\n');
      assert.match(await r.until(/^220 2\.0\.0 Ready to start TLS\r\n/m), /250-STARTTLS/);
      socket.removeAllListeners('data');
      const secure = tls.connect({ socket, ca: provider.certificatePem, servername: 'mx.test' });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      assert.ok(secure.authorized, 'the self-signed certificate names mx.test');
      const sr = reader(secure);
      secure.write('RCPT TO:<b@example.org>\r\n');
      assert.equal(await sr.until(/\r\n$/), '503 5.5.1 Send HELO/EHLO first\r\n');
      secure.write('EHLO client\r\n');
      const ehlo = await sr.until(/^250 HELP\r\n/m);
      assert.doesNotMatch(ehlo, /STARTTLS/);
      secure.write('RCPT TO:<b@example.org>\r\n');
      assert.equal(await sr.until(/\r\n$/), '503 5.5.1 Need MAIL command first\r\n');
      secure.write('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n');
      await sr.until(/^221 /m);
      assert.match(received.tlsSeen[0] ?? '', /^TLSv1\.[23]$/);
      secure.destroy();
    });
  });

  it('refuses a connection over the per-IP limit with 421 4.7.0', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received), limits: { maxConnectionsPerIp: 1 } }, async (listener) => {
      const first = await connect(listener);
      const r1 = reader(first);
      await r1.until(/^220 /m);
      const second = await connect(listener);
      const r2 = reader(second);
      await r2.closedWithin();
      assert.equal(r2.text, '421 4.7.0 Too many connections, try again later\r\n');
      assert.equal(listener.connections, 1);
      first.destroy();
    });
  });

  it('makes room for a new connection by closing the oldest idle one that has no transaction', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received), limits: { maxConnections: 2, maxConnectionsPerIp: 10 } }, async (listener) => {
      const oldest = await connect(listener, '127.0.0.2');
      const r1 = reader(oldest);
      await r1.until(/^220 /m);
      const busy = await connect(listener, '127.0.0.3');
      const r2 = reader(busy);
      await r2.until(/^220 /m);
      const third = await connect(listener, '127.0.0.4');
      assert.match(await reader(third).until(/^220 /m), /^220 /);
      await r1.closedWithin();
      assert.match(r1.text, /421 4\.4\.2/);
      busy.write('EHLO client.test\r\n');
      assert.match(await r2.until(/^250 /m), /^250 /m);
      busy.destroy();
      third.destroy();
    });
  });

  it('refuses a connection over the total limit with 421 4.7.0, whatever its IP, when none can make room', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received), limits: { maxConnections: 2, maxConnectionsPerIp: 10 } }, async (listener) => {
      const held = [await connect(listener, '127.0.0.2'), await connect(listener, '127.0.0.3')];
      // In a transaction: nothing to close to make room.
      for (const socket of held) {
        const r = reader(socket);
        await r.until(/^220 /m);
        socket.write('EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n');
        await r.until(/^250 2\.1\.0/m);
      }
      const third = await connect(listener, '127.0.0.4');
      const r3 = reader(third);
      await r3.closedWithin();
      assert.equal(r3.text, '421 4.7.0 Too many connections, try again later\r\n');
      assert.equal(listener.connections, 2);
      held[0]!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fourth = await connect(listener, '127.0.0.4');
      assert.match(await reader(fourth).until(/^220 /m), /^220 /);
      fourth.destroy();
      held[1]!.destroy();
    });
  });

  it('says 421 4.4.2 and closes after the idle timeout', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received, { commandTimeoutMs: 150 }) }, async (listener) => {
      const socket = await connect(listener);
      const r = reader(socket);
      await r.until(/^220 /m);
      await r.closedWithin(2000);
      assert.equal(r.text, '421 4.4.2 mx.test Error: timeout exceeded\r\n');
    });
  });

  it('sends the shutdown reply to open connections when the listener closes', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    const listener = await startListener({ name: 't', host: '127.0.0.1', port: 0, implicitTls: false, tls: provider, createEngine: smtpFactory(received), logger });
    const socket = await connect(listener);
    const r = reader(socket);
    await r.until(/^220 /m);
    await listener.close(1000);
    await r.closedWithin();
    assert.equal(r.text, '421 4.3.2 mx.test Service shutting down, try again later\r\n');
  });

  it('closes the connection without leaking details when the engine throws', async () => {
    let closedCalls = 0;
    const engine = (): StreamEngine => ({
      start: async () => ({ data: ['* hello\r\n'] }),
      receive: async () => {
        throw new Error('secret internal detail');
      },
      tlsStarted: () => undefined,
      idleTimeout: () => ({ data: [] }),
      shutdown: () => ({ data: [] }),
      closed: () => {
        closedCalls++;
      },
      idleTimeoutMs: 10_000,
    });
    await withListener({ createEngine: engine }, async (listener) => {
      const socket = await connect(listener);
      const r = reader(socket);
      await r.until(/hello/);
      socket.write('boom\r\n');
      await r.closedWithin();
      assert.doesNotMatch(r.text, /secret/);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(closedCalls, 1);
    });
  });

  it('speaks implicit TLS on a TLS listener', async () => {
    const received: Received = { bodies: [], tlsSeen: [] };
    await withListener({ createEngine: smtpFactory(received), implicitTls: true }, async (listener) => {
      const secure = tls.connect({ host: '127.0.0.1', port: listener.address().port, ca: provider.certificatePem, servername: 'mx.test' });
      const r = reader(secure);
      await r.until(/^220 /m);
      secure.write('EHLO client\r\n');
      const ehlo = await r.until(/^250 HELP\r\n/m);
      assert.doesNotMatch(ehlo, /STARTTLS/);
      assert.equal(secure.getProtocol(), 'TLSv1.3');
      secure.destroy();
    });
  });

  it('stops reading a client that pipelines but does not read the answers, and drops it after the idle timeout', async () => {
    // Every byte in is answered by 50 out: without back-pressure 4 MB of input would queue 200 MB of output.
    let received = 0;
    let closedAt = 0;
    const amplifier = (): StreamEngine => ({
      start: async () => ({ data: ['* ready\r\n'] }),
      receive: async (chunk): Promise<EngineOutput> => {
        received += chunk.length;
        return { data: [Buffer.alloc(chunk.length * 50, 0x78)] };
      },
      tlsStarted: () => undefined,
      idleTimeout: () => ({ data: ['* BYE idle\r\n'] }),
      shutdown: () => ({ data: [] }),
      closed: () => {
        closedAt = Date.now();
      },
      idleTimeoutMs: 400,
    });
    await withListener({ createEngine: amplifier }, async (listener) => {
      const socket = await connect(listener);
      socket.on('error', () => undefined);
      socket.pause(); // never reads
      const sent = 4 * 1024 * 1024;
      const piece = Buffer.alloc(4096, 0x61);
      for (let i = 0; i < sent / piece.length; i++) socket.write(piece);
      const began = Date.now();
      while (closedAt === 0 && Date.now() - began < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(closedAt > 0, 'the connection is still open');
      assert.ok(received < sent / 2, `the server read ${received} of ${sent} bytes from a client that reads nothing`);
      socket.destroy();
    });
  });

  it('switches both directions to raw DEFLATE after a "deflate" step (RFC 4978)', async () => {
    const engine = compressEchoEngine;
    await withListener({ createEngine: engine }, async (listener) => {
      const socket = await connect(listener);
      const r = reader(socket);
      await r.until(/ready/);
      socket.write('COMPRESS\r\n');
      await r.until(/^OK\r\n/m);
      const z = deflateClient(socket);
      await z.say('hello');
      assert.equal(z.text, 'echo hello\r\n');
      socket.destroy();
    });
  });

  it('under COMPRESS too, holds bounded input from a client that pipelines but does not read', async () => {
    // Each decompressed byte is answered by 50 bytes that do not compress; the client's input is a
    // compression bomb (zeros).
    let driver: ConnectionDriver | null = null;
    let closed = false;
    const noise = randomBytes(16 * 1024 * 1024);
    const engine = (): StreamEngine => ({
      ...compressEchoEngine(),
      receive: async (chunk): Promise<EngineOutput> =>
        chunk.toString().startsWith('COMPRESS') ? { data: ['OK\r\n'], then: 'deflate' } : { data: [noise.subarray(0, Math.min(noise.length, chunk.length * 50))] },
      closed: () => {
        closed = true;
      },
      idleTimeoutMs: 400,
    });
    const server = net.createServer((socket) => {
      const context = { sessionId: 't', remoteAddress: '127.0.0.1', tls: null, push: () => undefined };
      driver = new ConnectionDriver({ socket, context, createEngine: engine, tls: null, logger });
      void driver.start();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      const r = reader(socket);
      await r.until(/ready/);
      socket.write('COMPRESS\r\n');
      await r.until(/^OK\r\n/m);
      socket.removeAllListeners('data');
      socket.pause(); // never reads again
      const bomb = zlib.deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
      socket.write(bomb);
      let heldMost = 0;
      const began = Date.now();
      while (!closed && Date.now() - began < 5000) {
        const inbox = (driver as unknown as { inbox: Buffer[] }).inbox;
        heldMost = Math.max(heldMost, inbox.reduce((n, b) => n + b.length, 0));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(closed, 'the connection is still open');
      assert.ok(heldMost < 4 * 1024 * 1024, `the driver held ${heldMost} bytes of unanswered input`);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('drops the compressor of an idle DEFLATE connection and goes on with a new one in the same stream', async () => {
    const engine = compressEchoEngine;
    let driver: ConnectionDriver | null = null;
    const server = net.createServer((socket) => {
      const context = { sessionId: 't', remoteAddress: '127.0.0.1', tls: null, push: () => undefined };
      driver = new ConnectionDriver({ socket, context, createEngine: engine, tls: null, logger, deflateIdleMs: 30 });
      void driver.start();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    try {
      const r = reader(socket);
      await r.until(/ready/);
      socket.write('COMPRESS\r\n');
      await r.until(/^OK\r\n/m);
      const z = deflateClient(socket);
      const say = (line: string): Promise<void> => z.say(line);
      const compressor = (): unknown => (driver as unknown as { deflate: unknown }).deflate;
      await say('one one one');
      assert.notEqual(compressor(), null);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(compressor(), null, 'the idle connection holds no compressor');
      await say('two one one');
      await say('three');
      assert.equal(z.text, 'echo one one one\r\necho two one one\r\necho three\r\n');
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
