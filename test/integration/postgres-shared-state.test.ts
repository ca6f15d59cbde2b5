// State the nodes of one PostgreSQL store must agree on, seen through the front door of two servers on
// one database: login failures counted on node A refuse the next login on node B; a greylisted triplet
// first seen on A passes on B after the delay; connections counted on A count on B; a DKIM key made on A
// signs on B (its cache follows the change feed); messages submitted on A count against the user's
// hourly submission limit on B and on a node started afterwards.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { TestServer } from '../harness/server.ts';
import { startPostgresNodes, type PostgresNodes } from '../harness/postgres-nodes.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { postgresUnavailable } from '../harness/postgres.ts';
import { dkimKeysFor } from '../../src/app/dkim-keys.ts';
import { until } from './queue-helpers.ts';

const PASSWORD = 'shared state password 1';
const unavailable = postgresUnavailable();
let shared: PostgresNodes | null = null;
let nodeA: TestServer | null = null;
let nodeB: TestServer | null = null;

async function imapLogin(node: TestServer, pass: string): Promise<boolean> {
  const imap = new ImapFlow({ host: '127.0.0.1', port: node.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.org', pass }, logger: false });
  imap.on('error', () => undefined);
  try {
    await imap.connect();
    await imap.logout();
    return true;
  } catch {
    return false;
  }
}

/** Submits one message as alice on `node`'s submissions port; the SMTP reply code. */
async function submit(node: TestServer, n: number): Promise<number> {
  const transporter = nodemailer.createTransport({ host: '127.0.0.1', port: node.ports.submissions, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.org', pass: PASSWORD } });
  try {
    await transporter.sendMail({ from: 'alice@example.org', to: 'alice@example.org', subject: `submitted ${n}`, text: 'counted by every node' });
    return 250;
  } catch (err) {
    return (err as { responseCode?: number }).responseCode ?? 0;
  } finally {
    transporter.close();
  }
}

/** The SMTP greeting's code (421 when the connection rate is exceeded). */
function greeting(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('data', (d) => {
      s.end('QUIT\r\n');
      resolve(Number(d.toString().slice(0, 3)));
    });
    s.once('error', reject);
  });
}

if (unavailable) {
  it(`postgres shared state: SKIPPED, ${unavailable}`, { skip: unavailable }, () => undefined);
} else {
  before(async () => {
    shared = await startPostgresNodes(2, {
      auth: { maxFailuresPerIp: 3 },
      submission: { rateMessagesPerHour: 3 },
      policy: { trustedNetworks: [], greylisting: true, greylistDelay: 1000, rateConnectionsPerIp: 8, spfRejectFail: false },
    });
    [nodeA, nodeB] = shared.nodes as [TestServer, TestServer];
    await nodeA.addUser('alice@example.org', PASSWORD);
  });
  after(async () => {
    await shared?.stop();
  });

  it('a DKIM key made on node A is the one node B signs with', { timeout: 180_000 }, async () => {
    assert.deepEqual(await nodeB!.server.services.dkimKeys!.activeKeys('example.org'), []);
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keysOnA = dkimKeysFor(nodeA!.server.services.store, nodeA!.dataDir);
    await keysOnA.addKey('example.org', 'shared1', 'ed25519', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64'));
    const onB = await until('the key on node B', async () => {
      const keys = await nodeB!.server.services.dkimKeys!.activeKeys('example.org');
      return keys.length > 0 ? keys : null;
    }, 2000);
    assert.deepEqual(onB.map((k) => k.selector), ['shared1']);
    await keysOnA.setActive('example.org', 'shared1', false);
    await until('the retired key gone on node B', async () => (await nodeB!.server.services.dkimKeys!.activeKeys('example.org')).length === 0, 2000);
  });

  it('a triplet greylisted on node A passes on node B after the delay', { timeout: 180_000 }, async () => {
    const envelope = { from: 'someone@sender.test', to: ['alice@example.org'], data: 'Subject: grey\r\n\r\nx\r\n' };
    const first = await sendRaw(nodeA!.ports.smtp, envelope);
    assert.equal(first.code, 451, first.text);
    const early = await sendRaw(nodeB!.ports.smtp, envelope);
    assert.equal(early.code, 451, 'node B knows the triplet and its delay');
    await new Promise((r) => setTimeout(r, 1100));
    const retry = await sendRaw(nodeB!.ports.smtp, envelope);
    assert.equal(retry.code, 250, `the retry to node B passes: ${retry.text}`);
  });

  it('messages submitted on node A count against the hourly submission limit on node B and on a node started later', { timeout: 180_000 }, async () => {
    assert.equal(await submit(nodeA!, 1), 250);
    assert.equal(await submit(nodeA!, 2), 250);
    // Each node announces what it counted once a second.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await submit(nodeB!, 3), 250, 'the third of three an hour');
    assert.equal(await submit(nodeB!, 4), 451, 'node B counts the two sent through node A');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await submit(nodeA!, 5), 451, 'node A counts the one sent through node B');
    const nodeC = await shared!.startNode({ storage: { poolSize: 2 }, submission: { rateMessagesPerHour: 3 } } as never);
    try {
      assert.equal(await submit(nodeC, 6), 451, 'a node started later reads the sends of the last hour');
    } finally {
      await nodeC.stop();
    }
  });

  it('login failures counted on node A refuse the right password on node B', { timeout: 180_000 }, async () => {
    assert.equal(await imapLogin(nodeB!, PASSWORD), true);
    for (let i = 0; i < 3; i++) assert.equal(await imapLogin(nodeA!, `wrong ${i}`), false);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await imapLogin(nodeB!, PASSWORD), false, 'node B refuses: the IP is over the cap across the nodes');
  });

  it('connections counted on node A count against the rate on node B', { timeout: 180_000 }, async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push(await greeting(nodeA!.ports.smtp));
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 6; i++) codes.push(await greeting(nodeB!.ports.smtp));
    console.log(`greetings A then B (8 per minute across both): ${codes.join(',')}`);
    assert.ok(codes.slice(6).includes(421), 'node B refuses once the cluster-wide rate is spent');
    assert.ok(codes.filter((c) => c === 220).length <= 9, 'about the per-IP rate across both nodes');
  });
}
