/**
 * Sessions outliving their login. Mallory stays logged in over IMAP while the admin removes her with the
 * real CLI (another process) and adds carol, who gets mail: mallory's session must be ended (BYE) within a
 * second and never see carol's mail, and carol's mail is accepted at once. A removed user's submission
 * session cannot send. Disabling an account, changing its password or removing the app password a session
 * used ends its IMAP, POP3 and submission sessions likewise.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ChildServer } from '../harness/child-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { Conn, smtpReply } from './lib/conn.ts';

const PASSWORD = 'revoked sessions password 1';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const plain = (user: string, pass = PASSWORD): string => b64(`\0${user}\0${pass}`);

let child: ChildServer;
let ca: string;

before(async () => {
  child = await ChildServer.create({ roles: ['smtp', 'imaps', 'pop3s', 'submissions'] });
  await child.addDomain('a.test');
  for (const user of ['alice', 'dave', 'frank', 'grace', 'erin', 'mallory']) await child.addUser(`${user}@a.test`, PASSWORD);
  await child.start();
  ca = child.ca;
});
after(async () => {
  await child?.stop();
});

async function cli(args: string[], stdin?: string): Promise<string> {
  const r = await child.cli(args, stdin);
  assert.equal(r.code, 0, `postamt ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

async function imapLogin(user: string, pass = PASSWORD): Promise<Conn> {
  const c = await Conn.open(child.ports.imaps!, { tls: { ca } });
  await c.expect(/\* OK[^\n]*\n/);
  await c.cmd(`a1 AUTHENTICATE PLAIN ${plain(user, pass)}`, /a1 OK[^\n]*\n/);
  return c;
}

async function pop3Login(user: string): Promise<Conn> {
  const c = await Conn.open(child.ports.pop3s!, { tls: { ca } });
  await c.expect(/\+OK[^\n]*\n/);
  await c.cmd(`AUTH PLAIN ${plain(user)}`, /\+OK[^\n]*\n/);
  return c;
}

async function submissionLogin(user: string): Promise<Conn> {
  const c = await Conn.open(child.ports.submissions!, { tls: { ca } });
  await c.expect(smtpReply(220));
  await c.cmd('EHLO client.test', smtpReply(250));
  await c.cmd(`AUTH PLAIN ${plain(user)}`, smtpReply(235));
  return c;
}

/** Waits for `pattern` and the close; returns how long after `since` they came. */
async function endedWithin(c: Conn, pattern: RegExp, since: number): Promise<number> {
  await c.expect(pattern, 10_000);
  assert.equal(await c.waitClosed(5000), true, 'the connection is closed after the goodbye');
  return Date.now() - since;
}

test('a removed user\'s IMAP session is ended and never sees the mail of the user added after her', { timeout: 180_000 }, async () => {
  const mallory = await imapLogin('mallory@a.test');
  await mallory.cmd('a2 SELECT INBOX', /a2 OK[^\n]*\n/);
  await cli(['user', 'remove', 'mallory@a.test']);
  const removed = Date.now();
  const byeMs = endedWithin(mallory, /\* BYE [^\n]*\n/, removed);
  await cli(['user', 'add', 'carol@a.test', '--password-stdin'], `${PASSWORD}\n`);
  // Mail for the new user is accepted at once (not 451 until a restart).
  const reply = await sendRaw(child.smtpPort, { from: 'bob@far.test', to: ['carol@a.test'], data: 'Subject: for carol only\r\n\r\ncarol\'s secret\r\n' });
  assert.equal(reply.code, 250, reply.text);
  const ms = await byeMs;
  console.log(`user remove → IMAP BYE: ${ms} ms`);
  assert.ok(ms <= 1000, `BYE came ${ms} ms after the CLI removed the account`);
  // Whatever the old session still tries, carol's mail never reaches it.
  mallory.write('a3 SELECT INBOX\r\na4 FETCH 1:* (BODY[])\r\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.doesNotMatch(mallory.text, /carol's secret|for carol only|\* 1 EXISTS/);
  assert.equal((await child.messageList('carol@a.test')).length, 1);
});

test('a removed user\'s submission session gets 421 4.7.0 and cannot send as anyone', { timeout: 180_000 }, async () => {
  const erin = await submissionLogin('erin@a.test');
  await cli(['user', 'remove', 'erin@a.test']);
  const removed = Date.now();
  const closed = endedWithin(erin, /(?:^|\n)421 4\.7\.0 [^\n]*\n/, removed);
  await cli(['user', 'add', 'henry@a.test', '--password-stdin'], `${PASSWORD}\n`);
  const ms = await closed;
  console.log(`user remove → submission 421: ${ms} ms`);
  assert.ok(ms <= 1000, `421 came ${ms} ms after the CLI removed the account`);
  erin.write('MAIL FROM:<henry@a.test>\r\nMAIL FROM:<erin@a.test>\r\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.doesNotMatch(erin.text.slice(erin.mark), /(?:^|\n)250 /);
});

for (const change of ['disable', 'passwd'] as const) {
  const user = change === 'disable' ? 'dave@a.test' : 'frank@a.test';
  test(`\`user ${change}\` from the CLI ends the user's IMAP, POP3 and submission sessions within 1 s`, { timeout: 180_000 }, async () => {
    const imap = await imapLogin(user);
    await imap.cmd('a2 SELECT INBOX', /a2 OK[^\n]*\n/);
    imap.write('a3 IDLE\r\n');
    await imap.expect(/\+ [^\n]*\n/);
    const pop3 = await pop3Login(user);
    const smtp = await submissionLogin(user);
    if (change === 'disable') await cli(['user', 'disable', user]);
    else await cli(['user', 'passwd', user, '--password-stdin'], 'a new password 22\n');
    const at = Date.now();
    const [imapMs, pop3Ms, smtpMs] = await Promise.all([
      endedWithin(imap, /\* BYE [^\n]*\n/, at),
      endedWithin(pop3, /-ERR \[AUTH\] [^\n]*\n/, at),
      endedWithin(smtp, /(?:^|\n)421 4\.7\.0 [^\n]*\n/, at),
    ]);
    console.log(`user ${change} → IMAP BYE ${imapMs} ms, POP3 -ERR ${pop3Ms} ms, submission 421 ${smtpMs} ms`);
    for (const ms of [imapMs, pop3Ms, smtpMs]) assert.ok(ms <= 1000, `a session ended ${ms} ms after the change`);
  });
}

test('removing the app password a session logged in with ends that session, not the others', { timeout: 180_000 }, async () => {
  const added = await child.cli(['app-password', 'add', 'grace@a.test', 'phone']);
  assert.equal(added.code, 0, added.stderr);
  const appPassword = added.stdout.toString().trim();
  const id = /app password (\d+)/.exec(added.stderr)?.[1];
  assert.ok(id, added.stderr);
  const phone = await imapLogin('grace@a.test', appPassword);
  const desktop = await imapLogin('grace@a.test');
  await cli(['app-password', 'remove', 'grace@a.test', id]);
  const ms = await endedWithin(phone, /\* BYE [^\n]*\n/, Date.now());
  assert.ok(ms <= 1000, `BYE came ${ms} ms after the app password was removed`);
  await desktop.cmd('a2 NOOP', /a2 OK[^\n]*\n/);
  assert.equal(desktop.closed, false);
  desktop.write('a3 LOGOUT\r\n');
});

test('even before the session is ended (changes from other processes not yet seen), the removed user\'s id never points at the new user', { timeout: 180_000 }, async () => {
  // The server hears the CLI only once an hour here: what protects carol is that ids are never reused.
  const slow = await ChildServer.create({ roles: ['smtp', 'imaps', 'submissions'], extraToml: '[storage]\nchange_poll_interval = "1h"\n' });
  try {
    await slow.addDomain('a.test');
    await slow.addUser('alice@a.test', PASSWORD);
    await slow.addUser('mallory@a.test', PASSWORD);
    await slow.start();
    const mallory = await Conn.open(slow.ports.imaps!, { tls: { ca: slow.ca } });
    await mallory.expect(/\* OK[^\n]*\n/);
    await mallory.cmd(`a1 AUTHENTICATE PLAIN ${plain('mallory@a.test')}`, /a1 OK[^\n]*\n/);
    const smtp = await Conn.open(slow.ports.submissions!, { tls: { ca: slow.ca } });
    await smtp.expect(smtpReply(220));
    await smtp.cmd('EHLO client.test', smtpReply(250));
    await smtp.cmd(`AUTH PLAIN ${plain('mallory@a.test')}`, smtpReply(235));
    const removed = await slow.cli(['user', 'remove', 'mallory@a.test']);
    assert.equal(removed.code, 0, removed.stderr);
    const added = await slow.cli(['user', 'add', 'carol@a.test', '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
    const reply = await sendRaw(slow.smtpPort, { from: 'bob@far.test', to: ['carol@a.test'], data: 'Subject: for carol only\r\n\r\ncarol\'s secret\r\n' });
    assert.equal(reply.code, 250, `mail for the new user: ${reply.text}`);
    const select = await mallory.cmd('a2 SELECT INBOX', /a2 (?:OK|NO|BAD)[^\n]*\n/);
    assert.match(select, /a2 NO/);
    mallory.write('a3 STATUS INBOX (MESSAGES)\r\n');
    await mallory.expect(/a3 [^\n]*\n/);
    assert.doesNotMatch(mallory.text, /carol's secret|for carol only|\* 1 EXISTS|MESSAGES 1/);
    const mail = await smtp.cmd('MAIL FROM:<carol@a.test>', /(?:^|\n)\d{3} [^\n]*\n/);
    assert.match(mail, /(?:^|\n)530 /, 'the removed user cannot send as the new user');
  } finally {
    await slow.stop();
  }
});
