// Queue leases on PostgreSQL with two queue runners on two stores (two nodes) over one database: every
// queued recipient is relayed exactly once while both run; recipients a dead node had claimed are relayed
// by the other node once the dead node's leases expired, not before.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../harness/postgres.ts';
import { silentLogger } from '../../src/core/log.ts';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { QueueRunner } from '../../src/queue/runner.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';

const unavailable = postgresUnavailable();
let cluster: TestPostgres | null = null;
let url = '';
let dns: DnsServerHandle;
let sink: SmtpSinkHandle;
const stores: Store[] = [];
const dirs: string[] = [];

async function node(): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), 'postamt-lease-'));
  dirs.push(dataDir);
  const store = await openStore({ dataDir, storage: { backend: 'postgres', url, poolSize: 4, statementTimeout: 30_000 } });
  stores.push(store);
  return store;
}

function runner(store: Store, leaseMs: number, owner: string): QueueRunner {
  return new QueueRunner({
    store,
    resolver: new NodeResolver({ servers: [dns.server], timeoutMs: 500, tries: 1, cacheSize: 0 }),
    logger: silentLogger(),
    hostname: `${owner}.postamt.test`,
    routing: { portOverride: sink.port, ipv6: false },
    retry: { scheduleMs: [60_000], jitter: 0, maxAgeMs: 3_600_000, delayWarningMs: 0 },
    mxTlsMode: 'none',
    pollIntervalMs: 100,
    leaseMs,
    leaseOwner: owner,
  });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (unavailable) {
  it(`queue leases on postgres: SKIPPED, ${unavailable}`, { skip: unavailable }, () => undefined);
} else {
  before(async () => {
    cluster = await testPostgres();
    url = await cluster.createDatabase();
    dns = await startDnsServer({ 'example.org': { MX: [{ preference: 10, exchange: 'mx.example.org' }] }, 'mx.example.org': { A: ['127.0.0.1'] } });
    sink = await startSmtpSink();
  });
  after(async () => {
    for (const s of stores) await s.close();
    await sink?.stop();
    await dns?.stop();
    if (cluster) {
      await cluster.dropDatabase(url);
      await cluster.stop();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('two nodes relaying one queue send every recipient exactly once', { timeout: 180_000 }, async () => {
    sink.messages.length = 0;
    const [a, b] = [await node(), await node()];
    for (let i = 0; i < 40; i++) {
      await (i % 2 ? a : b).enqueue({ sender: 'bob@sender.test', recipients: [{ address: `r${i}@example.org` }] }, Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    }
    const ra = runner(a, 10_000, 'node-a');
    const rb = runner(b, 10_000, 'node-b');
    ra.start();
    rb.start();
    try {
      await until(async () => (await a.listQueue()).length === 0, 30_000);
    } finally {
      await ra.stop();
      await rb.stop();
    }
    const got = sink.messages.flatMap((m) => m.recipients).sort();
    assert.equal(got.length, 40, `each recipient once, got ${got.length}`);
    assert.equal(new Set(got).size, 40);
  });

  it('recipients a dead node had claimed are relayed by another node after the lease expired, once', { timeout: 180_000 }, async () => {
    sink.messages.length = 0;
    const a = await node();
    for (let i = 0; i < 5; i++) await a.enqueue({ sender: 'bob@sender.test', recipients: [{ address: `dead${i}@example.org` }] }, Buffer.from(`Subject: d${i}\r\n\r\nbody\r\n`));
    // The dead node claimed them (for 1.5 s) and never recorded anything.
    const claimed = await a.claimRecipients(new Date(), 100, { owner: 'dead-node', until: new Date(Date.now() + 1500) });
    assert.equal(claimed.length, 5);
    const claimedAt = Date.now();
    const rb = runner(await node(), 10_000, 'node-b');
    rb.start();
    try {
      await until(() => sink.messages.length >= 5, 20_000);
      assert.ok(Date.now() - claimedAt >= 1400, 'nothing was taken over before the lease expired');
      await until(async () => (await a.listQueue()).length === 0, 10_000);
    } finally {
      await rb.stop();
    }
    const got = sink.messages.flatMap((m) => m.recipients).sort();
    assert.deepEqual(got, ['dead0@example.org', 'dead1@example.org', 'dead2@example.org', 'dead3@example.org', 'dead4@example.org']);
  });
}
