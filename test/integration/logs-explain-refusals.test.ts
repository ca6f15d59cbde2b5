/**
 * The log explains what happened to each message, seen through swaks on the MX port (127.0.0.1 untrusted,
 * a loopback DNS server): a refused RCPT is one smtp.refused line naming sender, recipient, code, rule and
 * reason (no second, bare smtp.error line); the spam verdict and authentication results are on the
 * smtp.transaction line, and so are the mailboxes a message was delivered into, or the rule that refused it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, rawMessage, submit, until } from './queue-helpers.ts';

const BOB = 'bob@example.test';
const ALICE = 'alice@example.test';
let dns: DnsServerHandle;
let t: TestServer;

before(async () => {
  dns = await startDnsServer({
    '127.0.0.1': { PTR: ['client.test'] },
    'client.test': { A: ['127.0.0.1'] },
    'fail.test': { TXT: ['v=spf1 -all'] },
    'reject.test': { TXT: ['v=spf1 -all'] },
    '_dmarc.reject.test': { TXT: ['v=DMARC1; p=reject'] },
    'null.test': { MX: [{ preference: 0, exchange: '.' }] },
  });
  t = await startTestServer({ dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), config: { policy: { trustedNetworks: [], spamJunkScore: 2 } } });
  await t.addUser(BOB, 'bob password');
  await t.addUser(ALICE, PASS);
});
after(async () => {
  await t.stop();
  await dns.stop();
});

/** swaks runs beside the in-process server (asynchronously); its transcript, whatever the exit code. */
function swaks(from: string, to: string): Promise<string> {
  const args = ['--server', `127.0.0.1:${t.ports.smtp}`, '--from', from, '--to', to, '--helo', 'client.test', '--header', `From: <${from}>`, '--body', 'log test'];
  return new Promise((resolve) => execFile('swaks', args, { encoding: 'utf8', timeout: 30_000 }, (_err, stdout) => resolve(stdout)));
}

const events = (name: string): Record<string, unknown>[] => t.logs.filter((l) => l.event === name);

describe('logs explain refusals and deliveries', () => {
  test('a refused RCPT is one line with sender, recipient, code, rule and reason', async () => {
    const out = await swaks('someone@fail.test', 'nobody@example.test');
    assert.match(out, /<\*\* 550 5\.1\.1/);
    const refused = events('smtp.refused').filter((l) => l.recipient === 'nobody@example.test');
    assert.equal(refused.length, 1);
    assert.deepEqual({ ...refused[0], time: undefined, level: undefined, session: undefined, msg: undefined, pid: undefined, hostname: undefined }, {
      ...refused[0], time: undefined, level: undefined, session: undefined, msg: undefined, pid: undefined, hostname: undefined,
      event: 'smtp.refused', role: 'mx', command: 'RCPT', sender: 'someone@fail.test', recipient: 'nobody@example.test', code: 550, status: '5.1.1',
      rule: 'unknown_user', reason: '<nobody@example.test>: Recipient address rejected: User unknown', ip: '127.0.0.1',
    });
    const session = refused[0]!.session;
    assert.deepEqual(events('smtp.error').filter((l) => l.session === session && l.command === 'RCPT'), [], 'the refusal was logged twice');

    await swaks('someone@fail.test', 'elsewhere@remote.example');
    const relay = events('smtp.refused').find((l) => l.recipient === 'elsewhere@remote.example');
    assert.equal(relay?.rule, 'relay_denied');
    assert.equal(relay?.code, 554);
  });

  test('the spam verdict, authentication results and the mailbox are on the transaction line', async () => {
    const out = await swaks('someone@fail.test', BOB);
    assert.match(out, /<- {2}250 2\.0\.0 Ok: queued as (\S+)/);
    const id = /queued as (\S+)/.exec(out)![1];
    const tx = events('smtp.transaction').filter((l) => l.queueId === id);
    assert.equal(tx.length, 1);
    const spam = tx[0]!.spam as { score: number; verdict: string; tests: string[] };
    assert.ok(spam.score >= 2, JSON.stringify(spam));
    assert.equal(spam.verdict, 'junk');
    assert.ok(spam.tests.some((s) => s.startsWith('SPF_FAIL=')), JSON.stringify(spam));
    assert.deepEqual(tx[0]!.auth, { spf: 'fail', dkim: 'none', dmarc: 'none' });
    assert.deepEqual(tx[0]!.delivered, [`${BOB}/Junk`]);
    assert.equal(tx[0]!.folder, 'junk');
  });

  test('a message refused at end of data names the rule on its transaction line', async () => {
    const out = await swaks('someone@reject.test', BOB);
    assert.match(out, /<\*\* 550 5\.7\.1 Message rejected by the DMARC policy of reject\.test/);
    const tx = events('smtp.transaction').filter((l) => l.sender === 'someone@reject.test');
    assert.equal(tx.length, 1);
    assert.equal(tx[0]!.rule, 'dmarc_reject');
    assert.equal(tx[0]!.code, 550);
    assert.equal((tx[0]!.auth as { dmarc: string }).dmarc, 'fail');
    assert.equal(tx[0]!.delivered, undefined);
  });

  test('a bounce delivered from the queue names the mailbox it went into (delivery.local)', async () => {
    await submit(t, ALICE, { from: ALICE, to: ['x@null.test'] }, rawMessage(ALICE, 'x@null.test', 'to a null MX', 'x'));
    const line = await until('the bounce delivered locally', () => events('delivery.local').find((l) => l.recipient === ALICE));
    assert.deepEqual(line.delivered, [`${ALICE}/INBOX`]);
  });
});
