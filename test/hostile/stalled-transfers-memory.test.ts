/**
 * Memory under stalled transfers, measured on the real program (child process, VmRSS from /proc): many
 * SMTP sessions that send 9 MB of DATA and then stop, and unauthenticated IMAP clients announcing 1 MB
 * literals. Bodies are spooled to disk early and one budget bounds all bytes in transit: once it is spent
 * a new message gets 452 4.3.1 and an APPEND NO [LIMIT]; when the stalled sessions go, mail flows again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { rssMb } from './lib/canary.ts';
import { Conn, smtpOpen, smtpReply, SMTP_REPLY } from './lib/conn.ts';
import { figures, scale } from './lib/figures.ts';

const fig = figures(import.meta.url);
const BOB = 'bob@example.test';
const BUDGET_MB = 64;
const NINE_MB = 9 * 1024 * 1024;

async function settle(pid: number): Promise<number> {
  // Wait until the server has read what was sent: RSS stops moving for a second (bounded wait).
  let last = rssMb(pid);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = rssMb(pid);
    if (Math.abs(now - last) < 2 && i >= 2) return now;
    last = now;
  }
  return last;
}

async function sendMessage(port: number, bytes: number): Promise<string> {
  const c = await smtpOpen(port, { timeoutMs: 60_000 });
  try {
    await c.cmd(`MAIL FROM:<a@client.test> SIZE=${bytes}`, smtpReply(250));
    await c.cmd(`RCPT TO:<${BOB}>`, smtpReply(250));
    // With the budget spent, DATA itself is refused (before 354) when the declared size cannot fit.
    const data = await c.cmd('DATA', SMTP_REPLY);
    if (!data.startsWith('354')) return `${data.trim()} (at DATA)`;
    c.write(`Subject: fresh\r\n\r\n${`${'y'.repeat(998)}\r\n`.repeat(Math.ceil(bytes / 1000))}`);
    return (await c.cmd('.', SMTP_REPLY)).trim();
  } finally {
    c.close();
  }
}

describe('stalled transfers keep the server within its memory bound', () => {
  let child: ChildServer;
  let dns: DnsServerHandle;

  before(async () => {
    dns = await startDnsServer({});
    child = await ChildServer.create({
      roles: ['smtp', 'imap'],
      extraToml: ['[limits]', 'connections_per_ip = 1000', 'connections_total = 2000', `inflight_message_bytes = "${BUDGET_MB} MiB"`, 'line_length = 1000',
        '[auth]', 'allow_plaintext_on_loopback = true', '[dns]', `servers = ["${dns.server}"]`,
        // Loopback is trusted by default; an outside client's message was held in memory for its checks.
        '[policy]', 'trusted_networks = []', 'rate_connections_per_ip = 0', 'rate_messages_per_ip = 0'].join('\n'),
    });
    await child.addDomain('example.test');
    await child.addUser(BOB, 'stall-test-pw');
    await child.start();
  });
  after(async () => {
    await child.stop();
    await dns.stop();
  });

  it('stalled 9 MB DATA transfers and unauthenticated 1 MB literals add little memory; the budget gives 452 4.3.1 and NO [LIMIT], then recovers', async () => {
    const pid = child.pid!;
    const sessions = scale(30, 100);
    const literals = scale(100, 300);
    const before = await settle(pid);
    const stalled: Conn[] = [];
    const line = `${'x'.repeat(998)}\r\n`;
    const body = Buffer.from(line.repeat(Math.ceil(NINE_MB / line.length)));
    for (let i = 0; i < sessions; i++) {
      const c = await smtpOpen(child.smtpPort, { timeoutMs: 60_000 });
      await c.cmd('MAIL FROM:<a@client.test>', smtpReply(250));
      await c.cmd(`RCPT TO:<${BOB}>`, smtpReply(250));
      await c.cmd('DATA', smtpReply(354));
      c.write(`From: <a@client.test>\r\nSubject: stalled ${i}\r\n\r\n`);
      c.write(body);
      stalled.push(c);
    }
    const imaps: Conn[] = [];
    let refusedLiterals = 0;
    for (let i = 0; i < literals; i++) {
      const c = await Conn.open(child.ports.imap!, { timeoutMs: 10_000 });
      await c.expect(/\* OK[^\n]*\n/);
      const r = await c.cmd(`a LOGIN {1048576}`, /(\+ [^\n]*|a (NO|BAD)[^\n]*)\n/);
      if (/^a (NO|BAD)/m.test(r)) refusedLiterals++;
      // An accepted literal is sent all but its last byte, and the client stalls.
      else c.write(Buffer.alloc(1048575, 0x61));
      imaps.push(c);
    }
    const during = await settle(pid);
    const grewMb = during - before;
    const bound = 150;
    fig.record({ case: `${sessions} stalled 9 MB DATA + ${literals} pre-login 1 MB literals`, figure: `RSS ${before} -> ${during} MB (+${grewMb}); literals refused ${refusedLiterals}/${literals}`, limit: `+< ${bound} MB; all refused`, pass: grewMb < bound && refusedLiterals === literals });
    assert.equal(refusedLiterals, literals);
    assert.ok(grewMb < bound, `RSS grew by ${grewMb} MB`);

    // The stalled transfers hold the whole budget: a new 2 MB message and APPEND are refused for now.
    const spent = await sendMessage(child.smtpPort, 2 * 1024 * 1024);
    const imap = await Conn.open(child.ports.imap!, { timeoutMs: 10_000 });
    await imap.expect(/\* OK[^\n]*\n/);
    await imap.cmd(`l LOGIN ${BOB} stall-test-pw`, /l OK[^\n]*\n/);
    const append = await imap.cmd(`p APPEND INBOX {${2 * 1024 * 1024}}`, /(\+ [^\n]*|p (NO|BAD)[^\n]*)\n/);
    for (const c of [...stalled, ...imaps]) c.close();
    await new Promise((r) => setTimeout(r, 500));
    const again = await sendMessage(child.smtpPort, 2 * 1024 * 1024);
    imap.close();
    fig.record({ case: `in-flight budget ${BUDGET_MB} MiB spent`, figure: `new message ${spent.slice(0, 9)}${spent.endsWith('(at DATA)') ? ' at DATA' : ''}; APPEND ${append.trim().slice(0, 12)}; after the stalled sessions closed ${again.slice(0, 9)}`, limit: '452 4.3.1 (at DATA for a declared SIZE); NO [LIMIT]; then 250', pass: spent.startsWith('452 4.3.1') && /NO \[LIMIT\]/.test(append) && again.startsWith('250') });
    assert.match(spent, /^452 4\.3\.1 /);
    assert.match(append, /p NO \[LIMIT\]/);
    assert.match(again, /^250 /);
  });
});
