// Changes made by another process reach a running server within a second: the real program as a child
// process, the real CLI in further processes. A message added with `postamt message append` shows in an
// IMAP IDLE session (EXISTS), a flag change and an expunge made by the CLI's store too; `postamt queue
// retry` makes the queue deliver at once instead of at its next poll.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ChildServer } from '../harness/child-server.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { openStore } from '../../src/store/open.ts';
import { until } from './queue-helpers.ts';

const PASSWORD = 'cross process password 1';

function imapClient(child: ChildServer, user: string): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: child.ports.imaps!,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass: PASSWORD },
    logger: false,
    disableAutoIdle: true,
  });
}

it('a message appended by the CLI, and flags and expunges made elsewhere, reach an IMAP IDLE session within 1 s', { timeout: 180_000 }, async () => {
  const child = await ChildServer.create({ roles: ['smtp', 'imaps'] });
  const imap = imapClient(child, 'alice@example.org');
  try {
    await child.addDomain('example.org');
    await child.addUser('alice@example.org', PASSWORD);
    await child.start();
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    const events: { what: string; at: number; count?: number }[] = [];
    imap.on('exists', (e: { count: number }) => events.push({ what: 'exists', at: Date.now(), count: e.count }));
    imap.on('expunge', () => events.push({ what: 'expunge', at: Date.now() }));
    imap.on('flags', () => events.push({ what: 'flags', at: Date.now() }));
    const idling = imap.idle();
    await new Promise((r) => setTimeout(r, 300));

    const appendedAt = Date.now();
    const r = await child.cli(['message', 'append', 'alice@example.org'], 'Subject: appended by the CLI\r\n\r\nhello\r\n');
    assert.equal(r.code, 0, r.stderr);
    const cliDone = Date.now();
    const exists = await until('EXISTS in IDLE', () => events.find((e) => e.what === 'exists'), 10_000);
    assert.equal(exists.count, 1);
    console.log(`CLI append → IDLE EXISTS: ${exists.at - cliDone} ms after the CLI exited (${exists.at - appendedAt} ms after it started)`);
    assert.ok(exists.at - cliDone <= 1000, `EXISTS came ${exists.at - cliDone} ms after the CLI committed`);

    // Flag changes and expunges made by another process (here the test's own store on the data dir).
    const other = await openStore({ dataDir: child.dataDir });
    try {
      const account = (await other.getAccount('alice@example.org'))!;
      const inbox = (await other.getMailbox(account.id, 'INBOX'))!;
      const flaggedAt = Date.now();
      await other.storeFlags(inbox.id, [1], 'add', ['\\Flagged']);
      const flags = await until('FETCH FLAGS in IDLE', () => events.find((e) => e.what === 'flags'), 10_000);
      assert.ok(flags.at - flaggedAt <= 1000, `FETCH came ${flags.at - flaggedAt} ms after the flag change`);
      const expungedAt = Date.now();
      await other.expunge(inbox.id, [1]);
      const expunge = await until('EXPUNGE in IDLE', () => events.find((e) => e.what === 'expunge'), 10_000);
      assert.ok(expunge.at - expungedAt <= 1000, `EXPUNGE came ${expunge.at - expungedAt} ms after the expunge`);
    } finally {
      await other.close();
    }
    void idling;
  } finally {
    await imap.logout().catch(() => undefined);
    await child.stop();
  }
});

it('`postamt queue retry` from the CLI makes the running queue deliver within 1 s', { timeout: 180_000 }, async () => {
  let accept = false;
  const sink = await startSmtpSink({ rcpt: () => (accept ? undefined : '451 4.3.0 not yet') });
  const child = await ChildServer.create({
    extraToml: `[queue]\nretry_schedule = ["1h"]\ntls_policy = "none"\n[queue.routes]\n"far.test" = "127.0.0.1:${sink.port}"\n`,
  });
  try {
    await child.addDomain('example.org');
    await child.addAlias('fwd@example.org', ['someone@far.test']);
    await child.start();
    const reply = await sendRaw(child.smtpPort, { from: 'bob@elsewhere.test', to: ['fwd@example.org'], data: 'Subject: retry me\r\n\r\nx\r\n' });
    assert.equal(reply.code, 250, reply.text);
    // The first attempt is refused; the next is an hour away.
    await until('the first attempt to be deferred', async () => {
      const r = await child.cli(['queue', 'list', '--json']);
      const list = JSON.parse(r.stdout.toString()) as { recipients: { state: string; attempts: number }[] }[];
      return list[0]?.recipients[0]?.attempts === 1 && list[0].recipients[0].state === 'deferred';
    }, 15_000);
    accept = true;
    const r = await child.cli(['queue', 'retry', '--all']);
    assert.equal(r.code, 0, r.stderr);
    const retried = Date.now();
    await sink.waitForMessages(1, 10_000);
    const ms = Date.now() - retried;
    console.log(`CLI queue retry → delivery at the peer: ${ms} ms`);
    assert.ok(ms <= 1000, `the queue acted ${ms} ms after the CLI's retry`);
  } finally {
    await child.stop();
    await sink.stop();
  }
});
