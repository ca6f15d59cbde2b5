/**
 * Mail that must not be refused: `RCPT TO:<postmaster>` (RFC 5321 §4.5.1, no domain, any case), postmaster@
 * and abuse@ (RFC 2142) of every local domain and of our host name, delivered to the configured postmaster
 * or else the oldest account; an account or alias of that name first; no relaying through it. And a
 * disabled user still receives mail, directly and through the catch-all (no login, mail still arrives).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp } from '../harness/smtp-raw.ts';

const HOST = 'mx.postamt.test';
const ADMIN = 'admin@example.test'; // the first account: default postmaster
let t: TestServer;

before(async () => {
  t = await startTestServer({ hostname: HOST });
  await t.addUser(ADMIN, 'admin-password');
  await t.addUser('bob@example.test', 'bob-password');
  await t.addUser('postmaster@own.test', 'own-password');
  await t.addUser('off@example.test', 'off-password');
  await t.addUser('offcatch@catch.test', 'offcatch-password');
  await t.addAlias('@catch.test', ['offcatch@catch.test']);
  await t.addDomain('other.test');
});

after(async () => {
  await t?.stop();
});

/** Python's smtplib, the way a script sends: `RCPT TO:<postmaster>` exactly as given. */
function pythonSend(to: string, subject: string): Promise<{ code: number; out: string }> {
  const script = [
    'import smtplib, sys',
    's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.test")',
    'try:',
    '    s.sendmail("alice@sender.test", [sys.argv[2]], ("Subject: %s\\r\\n\\r\\nhello\\r\\n" % sys.argv[3]).encode())',
    '    print("sent")',
    'except smtplib.SMTPRecipientsRefused as e:',
    '    code, text = list(e.recipients.values())[0]',
    '    print("refused", code, text.decode())',
    's.quit()',
  ].join('\n');
  return new Promise((resolve) => {
    execFile('python3', ['-c', script, String(t.ports.smtp), to, subject], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }));
  });
}

async function subjects(address: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of await t.messages(address)) out.push(/^Subject: (.*)$/m.exec((await t.read(address, m.uid)).toString())?.[1]?.trim() ?? '');
  return out;
}

describe('postmaster and abuse', () => {
  test('RCPT TO:<postmaster> (no domain) and <PostMaster> from python smtplib reach the oldest account', async () => {
    for (const to of ['postmaster', 'PostMaster']) {
      const r = await pythonSend(to, `bare ${to}`);
      assert.equal(r.out.trim(), 'sent', r.out);
    }
    const got = await subjects(ADMIN);
    assert.ok(got.includes('bare postmaster') && got.includes('bare PostMaster'), got.join(', '));
  });

  test('postmaster@ and abuse@ every local domain and our host name are accepted (nodemailer), an account named postmaster first', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    for (const to of ['postmaster@example.test', 'abuse@other.test', 'Abuse@example.test', `postmaster@${HOST}`, 'postmaster@own.test']) {
      const info = await transport.sendMail({ from: 'alice@sender.test', to, subject: `to ${to}`, text: 'hello' });
      assert.match(info.response, /^250 /, to);
    }
    const admin = await subjects(ADMIN);
    for (const to of ['postmaster@example.test', 'abuse@other.test', 'Abuse@example.test', `postmaster@${HOST}`]) assert.ok(admin.includes(`to ${to}`), `${to} in ${admin.join(', ')}`);
    assert.deepEqual(await subjects('postmaster@own.test'), ['to postmaster@own.test']);
  });

  test('postmaster of a domain that is not ours is still relay access denied', async () => {
    const { client } = await RawSmtp.connect(t.ports.smtp);
    try {
      await client.command('EHLO client.test');
      await client.command('MAIL FROM:<alice@sender.test>');
      const r = await client.command('RCPT TO:<postmaster@elsewhere.example>');
      assert.deepEqual([r.code, r.enhanced], [554, '5.7.1']);
    } finally {
      client.close();
    }
  });

  test('a configured postmaster address receives instead of the oldest account', async () => {
    const s = await startTestServer({ hostname: HOST, config: { postmaster: 'boss@example.test' } });
    try {
      await s.addUser('first@example.test', 'pw-first-1234');
      await s.addUser('boss@example.test', 'pw-boss-12345');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: s.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
      await transport.sendMail({ from: 'alice@sender.test', to: 'abuse@example.test', subject: 'report', text: 'hello' });
      assert.equal((await s.messages('boss@example.test')).length, 1);
      assert.equal((await s.messages('first@example.test')).length, 0);
    } finally {
      await s.stop();
    }
  });
});

describe('a disabled user still receives', () => {
  test('mail to a disabled user, directly and through the catch-all, is delivered (nodemailer)', async () => {
    const store = t.server.services.store;
    await store.updateAccount('off@example.test', { disabled: true });
    await store.updateAccount('offcatch@catch.test', { disabled: true });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    const direct = await transport.sendMail({ from: 'alice@sender.test', to: 'off@example.test', subject: 'direct', text: 'hello' });
    assert.match(direct.response, /^250 /);
    const viaCatchAll = await transport.sendMail({ from: 'alice@sender.test', to: 'someone@catch.test', subject: 'catch-all', text: 'hello' });
    assert.match(viaCatchAll.response, /^250 /);
    const toItself = await transport.sendMail({ from: 'alice@sender.test', to: 'offcatch@catch.test', subject: 'own address', text: 'hello' });
    assert.match(toItself.response, /^250 /);
    assert.deepEqual(await subjects('off@example.test'), ['direct']);
    assert.deepEqual(await subjects('offcatch@catch.test'), ['catch-all', 'own address']);
  });
});
