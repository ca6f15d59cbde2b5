// Several real Postamt processes (`bin/postamt.js serve`, each with its own config file, data_dir and
// loopback ports) on one PostgreSQL database: IDLE push across processes, concurrent APPEND from two
// nodes, SMTP to one node while the queue is relayed by the nodes together, kill -9 of the node relaying
// (its lease expires, another node delivers) and of a node accepting (no acknowledged message lost), and a
// node whose database goes away (4xx, never 5xx; it recovers when the database is back).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startSmtpSink, type ReceivedMessage, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../harness/postgres.ts';
import { until } from './queue-helpers.ts';

const PASSWORD = 'multi process password 1';
const unavailable = postgresUnavailable();
let cluster: TestPostgres | null = null;
let url = '';
let dns: DnsServerHandle;
let sink: SmtpSinkHandle;
/** Subjects whose first transfer the sink holds unanswered (the relaying node is killed meanwhile). */
const holdFirst = new Set<string>();
const transfers: ReceivedMessage[] = [];
const acked: ReceivedMessage[] = [];
const nodes: ChildServer[] = [];
let proxy: DbProxy | null = null;

function subjectOf(data: Buffer): string {
  return /^Subject: (.*)$/m.exec(data.toString())?.[1]?.trim() ?? '';
}

/** A TCP relay in front of PostgreSQL that the test can cut (as if the database host went away) and restore. */
class DbProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  blocked = false;
  port = 0;
  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      if (this.blocked) {
        client.destroy();
        return;
      }
      const upstream = connect(target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
  }
  block(): void {
    this.blocked = true;
    for (const s of this.#sockets) s.destroy();
  }
  unblock(): void {
    this.blocked = false;
  }
  async close(): Promise<void> {
    this.block();
    await new Promise((r) => this.#server.close(r));
  }
}

function nodeToml(dbUrl: string): string {
  return [
    '[storage]', 'backend = "postgres"', `url = "${dbUrl}"`, 'pool_size = 4', 'statement_timeout = "5s"',
    '[dns]', `servers = ["${dns.server}"]`, 'timeout = "1s"',
    '[queue]', `port_override = ${sink.port}`, 'retry_schedule = ["300ms"]', 'lease_time = "2s"', 'tls_policy = "none"',
    '[auth]', 'allow_plaintext_on_loopback = true',
  ].join('\n');
}

async function startNode(dbUrl = url): Promise<ChildServer> {
  const node = await ChildServer.create({ roles: ['smtp', 'imap'], extraToml: nodeToml(dbUrl), hostname: `node${nodes.length + 1}.postamt.test` });
  nodes.push(node);
  await node.start(60_000);
  return node;
}

function imapClient(node: ChildServer): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port: node.ports.imap!, secure: false, doSTARTTLS: false, auth: { user: 'alice@example.org', pass: PASSWORD }, logger: false, disableAutoIdle: true });
}

async function leaseOwners(): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ lease_owner: string }>('SELECT lease_owner FROM queue_recipients WHERE lease_owner IS NOT NULL')).rows.map((r) => r.lease_owner);
  } finally {
    await c.end();
  }
}

if (unavailable) {
  it(`postgres multi-process: SKIPPED, ${unavailable}`, { skip: unavailable }, () => undefined);
} else {
  let a: ChildServer;
  let b: ChildServer;

  before(async () => {
    cluster = await testPostgres();
    url = await cluster.createDatabase();
    dns = await startDnsServer({ 'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] }, 'mx.remote.test': { A: ['127.0.0.1'] } });
    sink = await startSmtpSink({
      data: (msg) => {
        transfers.push(msg);
        const subject = subjectOf(msg.data);
        if (holdFirst.delete(subject)) return null;
        acked.push(msg);
        return '250 2.0.0 queued';
      },
    });
    a = await startNode();
    await a.addDomain('example.org');
    await a.addUser('alice@example.org', PASSWORD);
    await a.addAlias('fwd@example.org', ['far@remote.test']);
    b = await startNode();
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await proxy?.close();
    await sink?.stop();
    await dns?.stop();
    if (cluster) {
      await cluster.dropDatabase(url);
      await cluster.stop();
    }
  });

  it('a delivery by SMTP on process A raises EXISTS in an IMAP IDLE on process B within 1 s', { timeout: 180_000 }, async () => {
    const imap = imapClient(b);
    await imap.connect();
    try {
      const existsAtSelect = (await imap.mailboxOpen('INBOX')).exists;
      const events: { count: number; at: number }[] = [];
      imap.on('exists', (e: { count: number }) => events.push({ count: e.count, at: Date.now() }));
      void imap.idle();
      await new Promise((r) => setTimeout(r, 300));
      const reply = await sendRaw(a.smtpPort, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: 'Subject: across processes\r\n\r\nx\r\n' });
      const acceptedAt = Date.now();
      assert.equal(reply.code, 250, reply.text);
      const exists = await until('EXISTS on process B', () => events.find((e) => e.count === existsAtSelect + 1), 10_000);
      console.log(`SMTP 250 on process A -> IDLE EXISTS on process B: ${exists.at - acceptedAt} ms`);
      assert.ok(exists.at - acceptedAt <= 1000, `EXISTS came ${exists.at - acceptedAt} ms after the 250`);
    } finally {
      await imap.logout().catch(() => undefined);
    }
  });

  it('APPENDs to one mailbox from two processes at once get unique UIDs, ascending in each session', { timeout: 120_000 }, async () => {
    const clients = [imapClient(a), imapClient(b)];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const perNode = 15;
      const uids = await Promise.all(clients.map(async (c, n) => {
        const got: number[] = [];
        for (let i = 0; i < perNode; i++) {
          const res = await c.append('INBOX', `Subject: process ${n} append ${i}\r\n\r\nx\r\n`);
          assert.ok(res && typeof res.uid === 'number', 'APPENDUID (RFC 4315)');
          got.push(res.uid!);
        }
        return got;
      }));
      for (const list of uids) for (let i = 1; i < list.length; i++) assert.ok(list[i]! > list[i - 1]!, `UIDs ascend in one session: ${list.join(',')}`);
      const all = uids.flat();
      assert.equal(new Set(all).size, all.length, `no UID given twice: ${all.join(',')}`);
      const stored = (await a.messageList('alice@example.org')).filter((m) => m.subject?.includes(' append '));
      assert.equal(stored.length, 2 * perNode);
      assert.deepEqual(stored.map((m) => m.uid).sort((x, y) => x - y), [...all].sort((x, y) => x - y));
    } finally {
      await Promise.all(clients.map((c) => c.logout().catch(() => undefined)));
    }
  });

  it('SMTP to process A while the nodes relay one queue: every message reaches the peer once', { timeout: 120_000 }, async () => {
    const before = acked.length;
    const subjects = Array.from({ length: 20 }, (_, i) => `relay ${i}`);
    for (const s of subjects) {
      const reply = await sendRaw(a.smtpPort, { from: 'bob@elsewhere.test', to: ['fwd@example.org'], data: `Subject: ${s}\r\n\r\nforward me\r\n` });
      assert.equal(reply.code, 250, reply.text);
    }
    await until('every forwarded message at the peer', () => new Set(acked.slice(before).map((m) => subjectOf(m.data))).size >= 20, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const got = acked.slice(before).map((m) => subjectOf(m.data)).filter((s) => s.startsWith('relay '));
    assert.deepEqual([...got].sort(), [...subjects].sort(), 'each once');
    const byNode = nodes.map((n) => n.logs.filter((l) => l.event === 'queue.attempt' && l.result === 'delivered' && String(l.recipient) === 'far@remote.test').length);
    console.log(`relayed by node: ${byNode.join(' / ')}`);
  });

  it('kill -9 of the process relaying: another process delivers once the lease expired; only the message in flight is sent twice', { timeout: 120_000 }, async () => {
    const subject = 'in flight at the kill';
    holdFirst.add(subject);
    const transfersBefore = transfers.length;
    const reply = await sendRaw(a.smtpPort, { from: 'bob@elsewhere.test', to: ['fwd@example.org'], data: `Subject: ${subject}\r\n\r\nsurvive\r\n` });
    assert.equal(reply.code, 250, reply.text);
    await until('the first transfer at the peer', () => transfers.slice(transfersBefore).some((m) => subjectOf(m.data) === subject), 30_000);
    const [owner] = await leaseOwners();
    assert.ok(owner, 'the recipient in flight is leased');
    const pid = Number(owner.split(':')[1]);
    const relaying = nodes.find((n) => n.pid === pid);
    assert.ok(relaying, `the lease names a node process (${owner})`);
    const killedAt = Date.now();
    await relaying.kill('SIGKILL');
    await until('delivery by the other process', () => acked.some((m) => subjectOf(m.data) === subject), 30_000);
    const tookMs = Date.now() - killedAt;
    const sent = transfers.filter((m) => subjectOf(m.data) === subject).length;
    console.log(`kill -9 of the relaying process: delivered by the other ${tookMs} ms later; transfers ${sent}, acknowledged ${acked.filter((m) => subjectOf(m.data) === subject).length}`);
    assert.equal(acked.filter((m) => subjectOf(m.data) === subject).length, 1);
    assert.equal(sent, 2, 'the one in flight was sent again, once');
    await relaying.start(60_000);
  });

  it('kill -9 of a process while it accepts: every acknowledged message is stored, once', { timeout: 120_000 }, async () => {
    const victim = a;
    const ackedSubjects: string[] = [];
    let killed = false;
    const senders = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !killed; i++) {
        const subject = `accept ${w}-${i}`;
        const reply = await sendRaw(victim.smtpPort, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: `Subject: ${subject}\r\n\r\nkeep me\r\n` }).catch(() => null);
        if (reply?.code === 250) ackedSubjects.push(subject);
        else if (!killed) await new Promise((r) => setTimeout(r, 10));
      }
    });
    await until('some acknowledged messages', () => ackedSubjects.length >= 15, 60_000);
    await victim.kill('SIGKILL');
    killed = true;
    await Promise.all(senders);
    const other = nodes.find((n) => n !== victim && n.pid !== null)!;
    const stored = (await other.messageList('alice@example.org')).map((m) => m.subject ?? '').filter((s) => s.startsWith('accept '));
    const missing = ackedSubjects.filter((s) => !stored.includes(s));
    console.log(`kill -9 during acceptance: ${ackedSubjects.length} acknowledged, ${stored.length} stored, ${missing.length} lost`);
    assert.deepEqual(missing, [], 'no acknowledged message lost');
    assert.equal(new Set(stored).size, stored.length, 'no message stored twice');
    await victim.start(60_000);
  });

  it('a process that loses its database answers 4xx, never 5xx, and recovers when the database is back', { timeout: 120_000 }, async () => {
    const target = new URL(url);
    proxy = new DbProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.listen();
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const c = await startNode(viaProxy.toString());
    const ok = await sendRaw(c.smtpPort, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: 'Subject: before the outage\r\n\r\nx\r\n' });
    assert.equal(ok.code, 250, ok.text);

    proxy.block();
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await sendRaw(c.smtpPort, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: `Subject: during the outage ${i}\r\n\r\nx\r\n` });
      codes.push(reply.code);
      assert.ok(reply.code >= 400 && reply.code < 500, `a temporary failure, got ${reply.code} ${reply.text}`);
    }
    assert.ok(c.pid !== null, 'the process is still running');
    proxy.unblock();
    const back = await until('a 250 after the database came back', async () => {
      const reply = await sendRaw(c.smtpPort, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: 'Subject: after the outage\r\n\r\nx\r\n' });
      return reply.code === 250 ? reply : null;
    }, 30_000);
    console.log(`database outage: replies ${codes.join(', ')}; then ${back.code}`);
    const stored = (await a.messageList('alice@example.org')).map((m) => m.subject);
    assert.ok(stored.includes('after the outage'));
    assert.ok(!stored.some((s) => s?.startsWith('during the outage')), 'nothing refused was stored');
  });
}
