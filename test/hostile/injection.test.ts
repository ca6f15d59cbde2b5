/**
 * Injection and downgrade: SMTP smuggling end-of-data variants on the MX, submission and submissions
 * listeners (step by step, pipelined, BDAT); STARTTLS command injection on SMTP, IMAP and POP3; no
 * credentials before TLS; TLS 1.0/1.1 refused; IMAP/POP3 arguments trying to forge response lines.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, smtpOpen, smtpReply, SMTP_REPLY } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
let t: TestServer;
const PASSWORD = 'pw-injection-1';

before(async () => {
  t = await startTestServer({ config: { policy: { trustedNetworks: [] } } });
  await t.addUser('victim@example.test', PASSWORD);
  await t.addUser('sender@example.test', PASSWORD);
});
after(async () => {
  await t?.stop();
});

const plain = Buffer.from(`\0sender@example.test\0${PASSWORD}`).toString('base64');
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Listener = 'smtp' | 'submission' | 'submissions';
async function openListener(kind: Listener): Promise<Conn> {
  if (kind === 'smtp') return smtpOpen(t.ports.smtp);
  if (kind === 'submissions') {
    const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca } });
    await c.expect(SMTP_REPLY);
    await c.cmd('EHLO hostile.test', SMTP_REPLY);
    await c.cmd(`AUTH PLAIN ${plain}`, smtpReply(235));
    return c;
  }
  const c = await smtpOpen(t.ports.submission);
  await c.cmd('STARTTLS', smtpReply(220));
  await c.startTls(t.ca);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  await c.cmd(`AUTH PLAIN ${plain}`, smtpReply(235));
  return c;
}

const ENDINGS: Record<string, string> = {
  'LF.LF': '\n.\n', 'LF.CRLF': '\n.\r\n', 'CR.CR': '\r.\r', 'CR.CRLF': '\r.\r\n', 'CRLF.LF': '\r\n.\n', 'CRLF.CR': '\r\n.\r', 'LF.CR': '\n.\r', 'CR.LF': '\r.\n',
};
const smuggled = (from: string): string => `MAIL FROM:<${from}>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: SMUGGLED\r\n\r\nsmuggled\r\n`;

test('SMTP smuggling: no end-of-data variant starts a second transaction on any listener, pipelined or not, nor in BDAT', async () => {
  let attempts = 0;
  let smuggledAccepted = 0;
  const failures: string[] = [];
  for (const kind of ['smtp', 'submission', 'submissions'] as const) {
    const from = kind === 'smtp' ? 'attacker@outside.test' : 'sender@example.test';
    for (const [name, ending] of Object.entries(ENDINGS)) {
      for (const mode of ['stepwise', 'pipelined'] as const) {
        attempts++;
        const c = await openListener(kind);
        const body = `Subject: carrier\r\n\r\nhello${ending}${smuggled(from)}\r\n.\r\n`;
        if (mode === 'pipelined') {
          c.write(`MAIL FROM:<${from}>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n${body}`);
        } else {
          await c.cmd(`MAIL FROM:<${from}>`, smtpReply(250));
          await c.cmd('RCPT TO:<victim@example.test>', smtpReply(250));
          await c.cmd('DATA', smtpReply(354));
          c.write(body);
        }
        await c.cmd('NOOP', smtpReply(250), 5000).catch(() => '');
        const dataReplies = (c.text.match(/^354 /gm) ?? []).length;
        c.close();
        if (dataReplies > 1) {
          smuggledAccepted++;
          failures.push(`${kind} ${name} ${mode}`);
        }
      }
    }
    // BDAT: the count frames the data; a CRLF.CRLF inside is content, never a command boundary.
    attempts++;
    const c = await openListener(kind);
    const chunk = `Subject: carrier\r\n\r\nhello\r\n.\r\n${smuggled(from)}`;
    c.write(`MAIL FROM:<${from}>\r\nRCPT TO:<victim@example.test>\r\nBDAT ${Buffer.byteLength(chunk)} LAST\r\n${chunk}`);
    await c.cmd('NOOP', smtpReply(250), 5000).catch(() => '');
    if ((c.text.match(/^354 /gm) ?? []).length > 0) {
      smuggledAccepted++;
      failures.push(`${kind} BDAT`);
    }
    c.close();
  }
  await settle(500);
  const inbox = await t.messages('victim@example.test');
  let smuggledStored = 0;
  for (const m of inbox) {
    const raw = (await t.read('victim@example.test', m.uid)).toString('latin1');
    const header = raw.slice(0, raw.indexOf('\r\n\r\n'));
    if (/^Subject: SMUGGLED/m.test(header)) smuggledStored++;
  }
  fig.record({ case: `smuggling: ${Object.keys(ENDINGS).length} endings x 2 modes + BDAT x 3 listeners`, figure: `${attempts} attempts, ${smuggledAccepted} second DATA, ${smuggledStored} smuggled stored`, limit: '0 / 0', pass: smuggledAccepted === 0 && smuggledStored === 0 });
  assert.deepEqual(failures, []);
  assert.equal(smuggledStored, 0);
});

test('STARTTLS command injection: a command pipelined after STARTTLS / STLS is never answered', async () => {
  const answered: string[] = [];
  // SMTP (MX and submission)
  for (const port of [t.ports.smtp, t.ports.submission]) {
    const c = await smtpOpen(port);
    c.write('STARTTLS\r\nNOOP\r\n');
    await c.expect(smtpReply(220));
    const before = await c.startTls(t.ca);
    await settle(300);
    if (/250/.test(before + c.text)) answered.push(`smtp:${port}`);
    const r = await c.cmd('EHLO after.test', SMTP_REPLY);
    assert.match(r, /^250/m);
    c.close();
  }
  // IMAP
  {
    const c = await Conn.open(t.ports.imap);
    await c.expect(/^\* OK[^\n]*\n/);
    c.write('a STARTTLS\r\nb NOOP\r\n');
    await c.expect(/a OK[^\n]*\n/);
    const before = await c.startTls(t.ca);
    await settle(300);
    if (/b (OK|NO|BAD)/.test(before + c.text)) answered.push('imap');
    await c.cmd('c NOOP', /c OK[^\n]*\n/);
    c.close();
  }
  // POP3
  {
    const c = await Conn.open(t.ports.pop3);
    await c.expect(/^\+OK[^\n]*\n/);
    c.write('STLS\r\nNOOP\r\n');
    await c.expect(/\+OK[^\n]*\n/);
    const before = await c.startTls(t.ca);
    await settle(300);
    if (/[+-](OK|ERR)/.test(before + c.text)) answered.push('pop3');
    await c.cmd('CAPA', /\r\n\.\r\n/);
    c.close();
  }
  fig.record({ case: 'STARTTLS injection (smtp, submission, imap, pop3)', figure: `${answered.length} injected commands answered`, limit: '0', pass: answered.length === 0 });
  assert.deepEqual(answered, []);
});

test('no credentials accepted before TLS: IMAP LOGIN, POP3 USER/PASS, SMTP AUTH', async () => {
  const seen: string[] = [];
  const imap = await Conn.open(t.ports.imap);
  await imap.expect(/^\* OK[^\n]*\n/);
  const caps = await imap.cmd('a CAPABILITY', /a OK[^\n]*\n/);
  const login = await imap.cmd(`b LOGIN victim@example.test "${PASSWORD}"`, /b (OK|NO|BAD)[^\n]*\n/);
  imap.close();
  seen.push(`IMAP ${/LOGINDISABLED/.test(caps) ? 'LOGINDISABLED, ' : ''}${login.trim().split('\n').pop()!.slice(0, 12)}`);
  assert.match(login, /b (NO|BAD)/);
  const pop = await Conn.open(t.ports.pop3);
  await pop.expect(/^\+OK[^\n]*\n/);
  const user = await pop.cmd('USER victim@example.test', /^[+-](OK|ERR)[^\n]*\n/m);
  const pass = await pop.cmd(`PASS ${PASSWORD}`, /^[+-](OK|ERR)[^\n]*\n/m);
  pop.close();
  seen.push(`POP3 USER ${user.slice(0, 4)} PASS ${pass.slice(0, 4)}`);
  assert.match(pass, /^-ERR/m);
  const smtp = await smtpOpen(t.ports.submission);
  const auth = await smtp.cmd(`AUTH PLAIN ${plain}`, SMTP_REPLY);
  smtp.close();
  seen.push(`SMTP AUTH ${auth.trim().slice(0, 9)}`);
  assert.match(auth, /^538 5\.7\.11/m);
  fig.record({ case: 'credentials before TLS', figure: seen.join('; '), limit: 'all refused (NO, -ERR, 538)', pass: true });
});

test('TLS 1.0 and 1.1 are refused on every TLS listener', async () => {
  const outcomes: string[] = [];
  for (const [name, port] of [['submissions', t.ports.submissions], ['imaps', t.ports.imaps], ['pop3s', t.ports.pop3s]] as const) {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1', maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false });
        s.once('secureConnect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) outcomes.push(`${name} ${version}`);
    }
  }
  fig.record({ case: 'TLS 1.0/1.1 handshakes (3 listeners)', figure: `${outcomes.length} accepted`, limit: '0', pass: outcomes.length === 0 });
  assert.deepEqual(outcomes, []);
});

test('IMAP and POP3 arguments with CR/LF forge no response lines', async () => {
  const c = await Conn.open(t.ports.imaps, { tls: { ca: t.ca } });
  await c.expect(/^\* OK[^\n]*\n/);
  await c.cmd(`L LOGIN victim@example.test "${PASSWORD}"`, /L OK[^\n]*\n/);
  const evil = 'x\r\n* FORGED\r\nz OK FORGED';
  c.write(`c CREATE {${evil.length}}\r\n`);
  await c.expect(/\+[^\n]*\n/);
  await c.cmd(evil, /c (OK|NO|BAD)[^\n]*\n/);
  await c.cmd('d LIST "" "*"', /d OK[^\n]*\n/);
  c.write(`e SELECT {${evil.length}}\r\n`);
  await c.expect(/\+[^\n]*\n|e (NO|BAD)[^\n]*\n/);
  await c.cmd(evil, /e (OK|NO|BAD)[^\n]*\n/).catch(() => '');
  await c.cmd('f NOOP', /f OK[^\n]*\n/);
  c.close();
  const imapForged = (c.text.match(/^(\* FORGED|z OK FORGED)/gm) ?? []).length;
  const p = await Conn.open(t.ports.pop3s, { tls: { ca: t.ca } });
  await p.expect(/^\+OK[^\n]*\n/);
  p.write('USER a\r+OK FORGED\r\n');
  p.write('APOP x\r-ERR FORGED 1\r\n');
  p.write('USER b\r\n+OK FORGED\r\n');
  await settle(300);
  await p.cmd('NOOP', /[+-](OK|ERR)[^\n]*\n(?![\s\S]*\n)/).catch(() => '');
  p.close();
  const popForged = (p.text.match(/^([+-](OK|ERR) FORGED)/gm) ?? []).length;
  fig.record({ case: 'IMAP mailbox literal / POP3 argument with CR/LF', figure: `forged lines: imap ${imapForged}, pop3 ${popForged}`, limit: '0', pass: imapForged + popForged === 0 });
  assert.equal(imapForged, 0, c.text);
  assert.equal(popForged, 0, p.text);
});
