/**
 * An alias loop must never get `250` with the message stored nowhere. A loop already in the store (made
 * before the CLI refused loops, or closed later through a catch-all) is refused at RCPT with 550 5.4.6,
 * through nodemailer and swaks; an alias that turns into a loop between RCPT and the end of data gets 451
 * with nothing stored (the commit's own check). And the CLI refuses to create the loop at all.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp } from '../harness/smtp-raw.ts';
import { cliHarness } from '../../src/cli/test-harness.ts';

const BOB = 'bob@example.test';
let t: TestServer;

before(async () => {
  t = await startTestServer({ hostname: 'mx.postamt.test' });
  await t.addUser(BOB, 'bob-password');
  // Written straight to the store, as an older version or another tool could have: the CLI refuses these.
  await t.addAlias('loop1@example.test', ['loop2@example.test']);
  await t.addAlias('loop2@example.test', ['loop1@example.test']);
  await t.addDomain('loopy.test');
  await t.addAlias('@loopy.test', ['ghost@loopy.test']);
  await t.addAlias('good@example.test', [BOB]);
});

after(async () => {
  await t?.stop();
});

/** Every stored copy and queue entry there is: the loop case must add none. */
async function storedCount(): Promise<number> {
  return (await t.messages(BOB)).length + (await t.server.services.store.listQueue()).length;
}

describe('alias loop at delivery', () => {
  test('nodemailer to an alias loop gets 550 5.4.6 at RCPT and nothing is stored', async () => {
    const before = await storedCount();
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    await assert.rejects(
      transport.sendMail({ from: 'alice@sender.test', to: 'loop1@example.test', subject: 'loop', text: 'hello' }),
      (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 550);
        assert.match(err.response ?? '', /^550 5\.4\.6 .*loop/);
        return true;
      },
    );
    assert.equal(await storedCount(), before);
    const logged = t.logs.find((l) => l.event === 'smtp.refused' && l.recipient === 'loop1@example.test');
    assert.deepEqual([logged?.rule, logged?.sender], ['alias_loop', 'alice@sender.test'], 'the refusal is logged with sender, recipient and reason');
  });

  test('an alias with one target that names nobody delivers to the others and logs the dead target', async () => {
    await t.addAlias('team@example.test', [BOB, 'typo@example.test']);
    const before = (await t.messages(BOB)).length;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    const info = await transport.sendMail({ from: 'alice@sender.test', to: 'team@example.test', subject: 'team', text: 'hello' });
    assert.match(info.response, /^250 /);
    assert.equal((await t.messages(BOB)).length, before + 1);
    const logged = t.logs.find((l) => l.event === 'delivery.dead_target' && l.recipient === 'team@example.test');
    assert.deepEqual(logged?.targets, ['typo@example.test']);
  });

  test('swaks to a catch-all that loops gets 550 5.4.6, never 250', async (ctx: TestContext) => {
    if (spawnSync('sh', ['-c', 'command -v swaks']).status !== 0) return ctx.skip('swaks is not installed');
    // Asynchronously: the server runs in this process.
    const r = await new Promise<{ status: number; stdout: string }>((resolve) => {
      execFile('swaks', ['--server', `127.0.0.1:${t.ports.smtp}`, '--to', 'anyone@loopy.test', '--from', 'alice@sender.test', '--helo', 'swaks.test'], (err, stdout) => resolve({ status: err ? Number(err.code ?? 1) : 0, stdout }));
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /<\*\* +550 5\.4\.6 <anyone@loopy\.test>: Recipient address rejected: alias expansion loops/);
    assert.doesNotMatch(r.stdout, /<- +250 2\.0\.0/);
  });

  test('an alias that becomes a loop between RCPT and the end of data gets 451 4.3.0 and nothing is stored', async () => {
    const before = await storedCount();
    const { client } = await RawSmtp.connect(t.ports.smtp);
    try {
      assert.equal((await client.command('EHLO client.test')).code, 250);
      assert.equal((await client.command('MAIL FROM:<alice@sender.test>')).code, 250);
      assert.equal((await client.command('RCPT TO:<good@example.test>')).code, 250);
      await t.addAlias('good@example.test', ['loop1@example.test']);
      await new Promise((r) => setTimeout(r, 2100)); // past the resolver's cache
      assert.equal((await client.command('DATA')).code, 354);
      const reply = await client.command('Subject: race\r\n\r\nhello\r\n.');
      assert.deepEqual([reply.code, reply.enhanced], [451, '4.3.0']);
    } finally {
      await t.addAlias('good@example.test', [BOB]);
      t.server.services.planner.resolver.forget();
      client.close();
    }
    assert.equal(await storedCount(), before);
    const refused = t.logs.filter((l) => l.event === 'delivery.refused');
    assert.ok(refused.some((l) => (l.recipients as string[]).includes('good@example.test') && (l.reasons as string[]).includes('loop')), 'delivery.refused names the recipient and the reason');
  });

  test('the same through BDAT LAST: 451 4.3.0 and nothing stored', async () => {
    const before = await storedCount();
    const { client } = await RawSmtp.connect(t.ports.smtp);
    try {
      assert.equal((await client.command('EHLO client.test')).code, 250);
      assert.equal((await client.command('MAIL FROM:<alice@sender.test>')).code, 250);
      assert.equal((await client.command('RCPT TO:<good@example.test>')).code, 250);
      await t.addAlias('good@example.test', ['loop2@example.test']);
      await new Promise((r) => setTimeout(r, 2100)); // past the resolver's cache
      const body = 'Subject: race bdat\r\n\r\nhello\r\n';
      client.write(`BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
      const reply = await client.read();
      assert.deepEqual([reply.code, reply.enhanced], [451, '4.3.0']);
    } finally {
      await t.addAlias('good@example.test', [BOB]);
      t.server.services.planner.resolver.forget();
      client.close();
    }
    assert.equal(await storedCount(), before);
  });

  test('submission (nodemailer with AUTH) to an alias loop gets 550 5.4.6 and nothing is queued', async () => {
    const before = await storedCount();
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: t.ports.submission, secure: false, requireTLS: true, name: 'client.test',
      auth: { user: BOB, pass: 'bob-password' }, tls: { ca: t.ca, servername: 'mx.postamt.test' },
    });
    await assert.rejects(
      transport.sendMail({ from: BOB, to: 'loop2@example.test', subject: 'loop', text: 'hello' }),
      (err: { responseCode?: number; response?: string }) => {
        assert.match(err.response ?? '', /^550 5\.4\.6 /);
        return true;
      },
    );
    assert.equal(await storedCount(), before);
  });
});

describe('alias loop at creation', () => {
  test('postamt alias add refuses the alias that closes a loop, with a clear error', async () => {
    const cli = cliHarness();
    try {
      assert.equal((await cli.run(['domain', 'add', 'example.org'])).code, 0);
      const first = await cli.run(['alias', 'add', 'loop1@example.org', 'loop2@example.org']);
      assert.equal(first.code, 0);
      assert.equal(first.stderr, 'postamt: warning: loop2@example.org is not a user or an alias; its copy goes nowhere until it exists\n');
      const closing = await cli.run(['alias', 'add', 'loop2@example.org', 'loop1@example.org']);
      assert.equal(closing.code, 1);
      assert.match(closing.stderr, /^postamt: alias loop2@example\.org -> loop1@example\.org would make a loop/);
      const catchAll = await cli.run(['alias', 'add', '@example.org', 'nobody@example.org']);
      assert.equal(catchAll.code, 1);
      assert.match(catchAll.stderr, /would make a loop/);
      assert.equal((await cli.run(['alias', 'list'])).stdout, 'loop1@example.org -> loop2@example.org\n');
    } finally {
      cli.cleanup();
    }
  });
});
