// Memory held by idle IMAP connections (at most 50 KB per idle connection), plain and over implicit TLS.
// The server runs in this process and the clients in a child process, so after full GCs the growth of this
// isolate's heap is the server's alone (over TLS the growth of the data segment counts the native TLS memory
// too). The mailbox is big enough (20,000 messages) that keeping
// one value per message per session (a UID array) would break the bound. Memory, not timing: the measured
// figure is ~7 KB per connection, far below the bound. bench/imap.ts gives the exact figures.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../harness/server.ts';

const USER = 'idle-memory@example.org';
const PASS = 'idle memory password';
const MESSAGES = 20_000;
const CONNECTIONS = 300;
const MAX_BYTES_PER_CONNECTION = 50 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** heapUsed + external of this isolate after full GCs, once the heap stops shrinking. */
async function settledHeap(server: TestServer): Promise<number> {
  server.logs.length = 0; // the harness keeps log lines; they are not the connections' memory
  let last = Infinity;
  for (let i = 0; i < 8; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    const m = process.memoryUsage();
    const used = m.heapUsed + m.external;
    if (used >= last - 4096) return used;
    last = used;
  }
  return last;
}

/**
 * The clients run in a child process, so neither their heap nor their sockets' native memory is counted
 * here. Each opens `count` idlers (LOGIN, SELECT INBOX, IDLE, 50 at a time), over implicit TLS when the
 * first argument is "tls", prints "open" when all are idling, and closes them on a line in.
 */
const CLIENT_SCRIPT = `
const net = require('node:net');
const tls = require('node:tls');
const [mode, port, user, pass, count] = process.argv.slice(1);
function connect() {
  return mode === 'tls' ? tls.connect({ port: Number(port), host: '127.0.0.1', rejectUnauthorized: false }) : net.connect(Number(port), '127.0.0.1');
}
function idler() {
  return new Promise((resolve, reject) => {
    const s = connect();
    let text = '';
    s.setEncoding('latin1');
    s.on('error', reject);
    s.on('data', (d) => {
      text += d;
      if (text.includes('\\r\\n+ ')) { s.removeAllListeners('data'); resolve(s); }
      else if (/\\r\\na[123] (NO|BAD)/.test(text)) reject(new Error(text));
    });
    s.write('a1 LOGIN "' + user + '" "' + pass + '"\\r\\na2 SELECT INBOX\\r\\na3 IDLE\\r\\n');
  });
}
(async () => {
  const sockets = [];
  for (let i = 0; i < Number(count); i += 50) sockets.push(...await Promise.all(Array.from({ length: Math.min(50, Number(count) - i) }, idler)));
  process.stdout.write('open\\n');
  process.stdin.once('data', () => { for (const s of sockets) s.destroy(); process.stdout.write('closed\\n'); });
})().catch((err) => { process.stdout.write('error: ' + err.message + '\\n'); });
`;

class Clients {
  private readonly child: ChildProcess;
  private out = '';

  constructor(port: number, count: number, options: { tls: boolean }) {
    this.child = spawn(process.execPath, ['-e', CLIENT_SCRIPT, options.tls ? 'tls' : 'plain', String(port), USER, PASS, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  private async until(word: string): Promise<void> {
    for (let i = 0; i < 2400 && !this.out.includes(word); i++) {
      if (this.out.includes('error:')) throw new Error(this.out);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(this.out.includes(word), this.out);
  }

  open = (): Promise<void> => this.until('open');
  close = async (): Promise<void> => {
    this.child.stdin!.write('close\n');
    await this.until('closed');
  };
  stop = (): void => void this.child.kill();
}

/** Until the server counts `n` IMAP connections (closes are seen a little after the client's). */
async function imapConnections(server: TestServer, n: number, role: 'imap' | 'imaps' = 'imap'): Promise<void> {
  const listener = server.server.listeners[role];
  for (let i = 0; i < 200 && listener?.connections !== n; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(listener?.connections, n);
}

/** This process's data segment (VmData: malloc'd memory, touched or not, and V8's reserved heap pages). */
function vmDataBytes(): number {
  return Number(/VmData:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) * 1024;
}

describe('idle IMAP connections (at most 50 KB each)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      config: { auth: { allowPlaintextOnLoopback: true }, limits: { connectionsPerIp: CONNECTIONS + 50, connectionsTotal: CONNECTIONS + 50 } },
    });
    await server.addUser(USER, PASS);
    const store = server.server.services.store;
    const inbox = await store.getMailbox((await store.getAccount(USER))!.id, 'INBOX');
    for (let start = 0; start < MESSAGES; start += 1000) {
      const commits: Promise<unknown>[] = [];
      for (let i = start; i < start + 1000; i++) {
        const tx = store.beginDelivery();
        tx.write(Buffer.from(`From: a${i}@example.net\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`));
        commits.push(tx.commit({ mailboxes: [{ mailboxId: inbox!.id }] }));
      }
      await Promise.all(commits);
    }
  });

  after(async () => {
    await server?.stop();
  });

  it(`${CONNECTIONS} sessions idling on a ${MESSAGES}-message INBOX hold less than 50 KB each, and give it back when closed`, async () => {
    const port = server.ports.imap;
    // Warm-up: the code paths compiled, caches filled, before the baseline.
    const warm = new Clients(port, 50, { tls: false });
    try {
      await warm.open();
      await warm.close();
    } finally {
      warm.stop();
    }
    await imapConnections(server, 0);

    const clients = new Clients(port, CONNECTIONS, { tls: false });
    try {
      const baseline = await settledHeap(server);
      await clients.open();
      await imapConnections(server, CONNECTIONS);
      const open = await settledHeap(server);
      await clients.close();
      await imapConnections(server, 0);
      // Closed sessions are let go over the next turns of the event loop (a busy machine takes longer).
      let closed = await settledHeap(server);
      for (let i = 0; i < 10 && (closed - baseline) / CONNECTIONS >= 3 * 1024; i++) {
        await new Promise((r) => setTimeout(r, 300));
        closed = await settledHeap(server);
      }

      const perConnection = (open - baseline) / CONNECTIONS;
      const leftPerConnection = (closed - baseline) / CONNECTIONS;
      assert.ok(perConnection > 0 && perConnection < MAX_BYTES_PER_CONNECTION, `${(perConnection / 1024).toFixed(1)} KB per idle connection`);
      // A session kept alive after close (a watcher never removed...) would leave ~7 KB per connection.
      assert.ok(leftPerConnection < 3 * 1024, `${(leftPerConnection / 1024).toFixed(1)} KB per connection left after closing`);
    } finally {
      clients.stop();
    }
  });

  it(`${CONNECTIONS} sessions idling over implicit TLS hold less than 50 KB each`, async () => {
    const port = server.ports.imaps;
    const warm = new Clients(port, 50, { tls: true });
    try {
      await warm.open();
      await warm.close();
    } finally {
      warm.stop();
    }
    await imapConnections(server, 0, 'imaps');

    const clients = new Clients(port, CONNECTIONS, { tls: true });
    try {
      const baseline = await settledHeap(server);
      const dataBefore = vmDataBytes();
      await clients.open();
      await imapConnections(server, CONNECTIONS, 'imaps');
      const open = await settledHeap(server);
      const dataOpen = vmDataBytes();
      await clients.close();
      await imapConnections(server, 0, 'imaps');

      const perConnection = (open - baseline) / CONNECTIONS;
      const dataPerConnection = (dataOpen - dataBefore) / CONNECTIONS;
      assert.ok(perConnection > 0 && perConnection < MAX_BYTES_PER_CONNECTION, `${(perConnection / 1024).toFixed(1)} KB per idle connection`);
      // Native memory (OpenSSL, Node's TLS buffers) is not in the heap figures; the data segment counts it,
      // allocated whether touched or not: ~16 KB per connection, ~93 KB when TLS read with libuv's 64 KB buffer.
      assert.ok(dataPerConnection < MAX_BYTES_PER_CONNECTION, `${(dataPerConnection / 1024).toFixed(1)} KB more data segment per idle TLS connection`);
    } finally {
      clients.stop();
    }
  });
});
