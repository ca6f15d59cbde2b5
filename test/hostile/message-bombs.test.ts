/**
 * Message bombs over MX, without login, against the real program (child process), with a POP3 canary on
 * another port measuring how long everyone else waits while each bomb is received and checked:
 * a Subject folded over 200,000 lines (~800 KB; quadratic in mailauth's header parser, 96 s of frozen
 * server before the header limits), an RFC 2231 parameter bomb in the header section (refused by the
 * limits) and in a nested part (accepted: its BODYSTRUCTURE must be cheap), a header just under the limits
 * (checked on a worker thread), and SIGTERM while a bomb is in the checks. The canary's worst wait: <= 1 s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { greeting, startCanary } from './lib/canary.ts';
import { Conn, smtpOpen, smtpReply, SMTP_REPLY } from './lib/conn.ts';
import { figures, LONG, scale } from './lib/figures.ts';

const fig = figures(import.meta.url);
const BOB = 'bob@example.test';
const CANARY_LIMIT_MS = 1000;

function foldedSubject(lines: number): string {
  return `From: <a@client.test>\r\nTo: <${BOB}>\r\nSubject: start\r\n${' x\r\n'.repeat(lines)}Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n`;
}

function parameters(count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(` p${i}*=utf-8''%41${i}`);
  return out.join(';\r\n');
}

/** RFC 2231 parameter bomb in the top-level header section. */
function headerParameterBomb(count: number): string {
  return `From: <a@client.test>\r\nTo: <${BOB}>\r\nSubject: params\r\nMIME-Version: 1.0\r\nContent-Type: text/plain;${parameters(count)}\r\n\r\nbody\r\n`;
}

/** The same bomb in a nested part's header: inside the body, so only the MIME parser meets it. */
function nestedParameterBomb(count: number): string {
  return `From: <a@client.test>\r\nTo: <${BOB}>\r\nSubject: nested params\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n` +
    `--XX\r\nContent-Type: text/plain;${parameters(count)}\r\n\r\nhello\r\n--XX--\r\n`;
}

/** Sends one message over MX on a raw connection; resolves with the final reply (or throws on timeout). */
async function sendBomb(port: number, data: Buffer): Promise<string> {
  const c = await smtpOpen(port, { timeoutMs: 300_000 });
  try {
    await c.cmd('MAIL FROM:<a@client.test>', smtpReply(250));
    await c.cmd(`RCPT TO:<${BOB}>`, smtpReply(250));
    await c.cmd('DATA', smtpReply(354));
    c.write(data);
    return (await c.cmd('.', SMTP_REPLY)).trim();
  } finally {
    c.close();
  }
}

/** Runs `work` with the canary on; records and checks the canary's worst latency. */
async function withCanary<T>(child: ChildServer, name: string, expected: string, work: () => Promise<T>, describeResult: (r: T) => string): Promise<T> {
  const canary = startCanary(child.ports.pop3!);
  const began = performance.now();
  const result = await work();
  const ms = Math.round(performance.now() - began);
  const seen = await canary.stop();
  const ok = seen.maxMs <= CANARY_LIMIT_MS && seen.failed === 0;
  fig.record({ case: name, figure: `${describeResult(result)} in ${ms} ms; canary max ${seen.maxMs} ms (${seen.count} greetings, ${seen.failed} failed)`, limit: `${expected}; canary <= ${CANARY_LIMIT_MS} ms`, pass: ok });
  assert.equal(seen.failed, 0, 'canary greetings failed');
  assert.ok(seen.maxMs <= CANARY_LIMIT_MS, `canary waited ${seen.maxMs} ms during ${name}`);
  return result;
}

describe('message bombs over MX cannot stall other connections', () => {
  let dns: DnsServerHandle;
  let child: ChildServer;

  before(async () => {
    dns = await startDnsServer({
      '127.0.0.1': { PTR: ['client.test'] },
      'client.test': { A: ['127.0.0.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    });
    child = await ChildServer.create({
      roles: ['smtp', 'imap', 'pop3'],
      extraToml: [
        '[limits]', 'connections_per_ip = 500',
        '[auth]', 'allow_plaintext_on_loopback = true',
        '[dns]', `servers = ["${dns.server}"]`,
        // Loopback is trusted by default: these bombs must meet every check an outside client meets.
        '[policy]', 'trusted_networks = []', 'rate_connections_per_ip = 0', 'rate_messages_per_ip = 0',
      ].join('\n'),
    });
    await child.addDomain('example.test');
    await child.addUser(BOB, 'bomb-test-pw');
    await child.start();
    // start() waits for the SMTP listener; the canary's POP3 listener must answer before the first bomb.
    for (let i = 0; i < 100 && !(await greeting(child.ports.pop3!, 1000)); i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await child.stop();
    await dns.stop();
  });

  it('a Subject folded over 200,000 lines gets 552 5.3.4 at once and is logged', async () => {
    // Every bomb is built before the canary starts: building it must not delay the canary's own event loop.
    const bomb = Buffer.from(foldedSubject(200_000));
    const reply = await withCanary(child, 'folded Subject, 200,000 lines (~800 KB)', '552 5.3.4', () => sendBomb(child.smtpPort, bomb), (r) => r.slice(0, 38));
    assert.match(reply, /^552 5\.3\.4 /);
    const log = child.logs.find((l) => l['event'] === 'smtp.message_refused');
    assert.ok(log, 'refusal logged');
    assert.equal(log['problem'], 'header-lines');
    assert.equal(log['ip'], '127.0.0.1');
  });

  it('a header just under the limits (9,900 folded lines) is checked off the event loop and accepted', async () => {
    const bomb = Buffer.from(foldedSubject(9_900));
    const reply = await withCanary(child, 'folded Subject, 9,900 lines (checked by mailauth)', '250', () => sendBomb(child.smtpPort, bomb), (r) => r.slice(0, 12));
    assert.match(reply, /^250 /);
  });

  it('an RFC 2231 parameter bomb in the header section gets 552 5.3.4', async () => {
    const count = scale(200_000, 800_000);
    const bomb = Buffer.from(headerParameterBomb(count));
    const reply = await withCanary(child, `RFC 2231 bomb in the header, ${count} parameters (${(bomb.length / 1048576).toFixed(1)} MB)`, '552 5.3.4', () => sendBomb(child.smtpPort, bomb), (r) => r.slice(0, 38));
    assert.match(reply, /^552 5\.3\.4 /);
  });

  it('an RFC 2231 parameter bomb in a nested part is accepted and FETCH BODYSTRUCTURE stays cheap', async () => {
    const count = scale(200_000, 800_000);
    const data = Buffer.from(nestedParameterBomb(count));
    const reply = await withCanary(child, `RFC 2231 bomb in a part, ${count} parameters (${(data.length / 1048576).toFixed(1)} MB)`, '250', () => sendBomb(child.smtpPort, data), (r) => r.slice(0, 12));
    assert.match(reply, /^250 /);
    const imap = await Conn.open(child.ports.imap!, { timeoutMs: 120_000 });
    try {
      await imap.expect(/\* OK[^\n]*\n/);
      await imap.cmd(`a LOGIN ${BOB} bomb-test-pw`, /a OK[^\n]*\n/);
      await imap.cmd('b SELECT INBOX', /b OK[^\n]*\n/);
      const response = await withCanary(child, 'FETCH BODYSTRUCTURE of that message', 'OK, <= 128 parameters', async () => {
        const exists = /\* (\d+) EXISTS/.exec(imap.text)![1];
        return imap.cmd(`c FETCH ${exists} BODYSTRUCTURE`, /c (OK|NO|BAD)[^\n]*\n/);
      }, (r) => `${r.length} bytes, ${/c (OK|NO|BAD)/.exec(r)![0]}`);
      assert.match(response, /c OK/);
      assert.ok(response.length < 64 * 1024, `BODYSTRUCTURE of ${response.length} bytes`);
      assert.match(response, /"p0\*" "utf-8''%410"/);
      assert.doesNotMatch(response, /"p128\*"/);
    } finally {
      imap.close();
    }
  });

  it('SIGTERM while a bomb is being checked: the server exits within the grace period', async () => {
    const c = await smtpOpen(child.smtpPort, { timeoutMs: 60_000 });
    await c.cmd('MAIL FROM:<a@client.test>', smtpReply(250));
    await c.cmd(`RCPT TO:<${BOB}>`, smtpReply(250));
    await c.cmd('DATA', smtpReply(354));
    c.write(foldedSubject(LONG ? 9_990 : 9_900));
    c.write('.\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const began = performance.now();
    await child.kill('SIGTERM');
    const ms = Math.round(performance.now() - began);
    const reply = await c.expect(SMTP_REPLY, 2000).catch(() => 'closed');
    c.close();
    fig.record({ case: 'SIGTERM during the checks of a bomb', figure: `exit in ${ms} ms; client got ${reply.trim().slice(0, 20)}`, limit: 'exit < 5000 ms', pass: ms < 5000 });
    assert.ok(ms < 5000, `exit took ${ms} ms`);
    await child.start();
  });
});
