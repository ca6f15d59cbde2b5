import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { cliHarness, type CliHarness } from './test-harness.ts';
import { copyWithCrlf } from './message.ts';

describe('postamt mailbox / message', () => {
  let cli: CliHarness;
  before(async () => {
    cli = cliHarness();
    assert.equal((await cli.run(['domain', 'add', 'example.org'])).code, 0);
    assert.equal((await cli.run(['user', 'add', 'alice@example.org', '--password-stdin'], { stdin: 'password 1' })).code, 0);
  });
  after(() => cli.cleanup());

  const eml = 'From: Bob <bob@example.net>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nMessage-ID: <1@example.net>\r\n\r\nHello \xff 8bit\r\n';

  test('a new user has INBOX and the special-use mailboxes', async () => {
    const r = await cli.run(['mailbox', 'list', 'alice@example.org']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^MAILBOX\s+MESSAGES\s+UNSEEN\s+SIZE\s+SPECIAL-USE$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).filter((c, i) => i === 0 || c.startsWith('\\')).join(' ')).sort(),
      ['Archive \\Archive', 'Drafts \\Drafts', 'INBOX', 'Junk \\Junk', 'Sent \\Sent', 'Trash \\Trash']);
  });

  test('message append stores the bytes, prints the UID; cat gives them back byte for byte', async () => {
    const body = Buffer.from(eml, 'latin1');
    const first = await cli.run(['message', 'append', 'alice@example.org'], { stdin: body });
    assert.deepEqual([first.code, first.stdout, first.stderr], [0, '1\n', '']);
    const second = await cli.run(['message', 'append', 'alice@example.org', '--seen'], { stdin: body });
    assert.equal(second.stdout, '2\n');
    const cat = await cli.run(['message', 'cat', 'alice@example.org', '1']);
    assert.equal(cat.code, 0);
    assert.ok(cat.stdoutBytes.equals(body));
  });

  test('message append turns bare LF line ends into CRLF', async () => {
    const r = await cli.run(['message', 'append', 'alice@example.org', '--mailbox', 'Archive'], { stdin: 'Subject: lf\n\nline one\nline two\r\n' });
    assert.equal(r.stdout, '1\n');
    const cat = await cli.run(['message', 'cat', 'alice@example.org', '1', '--mailbox', 'Archive']);
    assert.equal(cat.stdout, 'Subject: lf\r\n\r\nline one\r\nline two\r\n');
  });

  test('message list shows UID, size, flags, decoded From and Subject; --json too', async () => {
    const r = await cli.run(['message', 'list', 'alice@example.org']);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^UID\s+SIZE\s+RECEIVED\s+FLAGS\s+FROM\s+SUBJECT$/);
    assert.match(lines[1]!, /^1\s+\d+\s+\S+ \S+\s+-\s+Bob <bob@example\.net>\s+Grüße$/);
    assert.match(lines[2]!, /^2\s+\d+\s+\S+ \S+\s+\\Seen\s+Bob/);
    const json = JSON.parse((await cli.run(['message', 'list', 'alice@example.org', '--json'])).stdout) as { uid: number; size: number; flags: string[]; subject: string; messageId: string }[];
    assert.deepEqual(json.map((m) => [m.uid, m.size, m.flags, m.subject, m.messageId]), [
      [1, Buffer.byteLength(eml, 'latin1'), [], 'Grüße', '<1@example.net>'],
      [2, Buffer.byteLength(eml, 'latin1'), ['\\Seen'], 'Grüße', '<1@example.net>'],
    ]);
    const counts = await cli.run(['mailbox', 'list', 'alice@example.org', '--json']);
    const inbox = (JSON.parse(counts.stdout) as { name: string; messages: number; unseen: number }[]).find((m) => m.name === 'INBOX');
    assert.deepEqual([inbox?.messages, inbox?.unseen], [2, 1]);
  });

  test('errors: unknown user, unknown mailbox, bad or missing UID, empty stdin', async () => {
    const cases: [string[], number, string][] = [
      [['message', 'list', 'nobody@example.org'], 1, 'postamt: no such user: nobody@example.org\n'],
      [['message', 'list', 'alice@example.org', '--mailbox', 'Nope'], 1, 'postamt: alice@example.org has no mailbox "Nope" (see postamt mailbox list alice@example.org)\n'],
      [['message', 'cat', 'alice@example.org', '99'], 1, 'postamt: no message with UID 99 in INBOX\n'],
      [['message', 'cat', 'alice@example.org', '0'], 1, 'postamt: UID must be a number from 1 to 4294967295, got "0"\n'],
      [['message', 'append', 'alice@example.org'], 1, 'postamt: no message on stdin (use: postamt message append EMAIL < file.eml)\n'],
      [['mailbox', 'list', 'bad address'], 1, 'postamt: "bad address" is not a valid address: expected local@domain\n'],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await cli.run(args);
      assert.deepEqual([r.code, r.stderr, r.stdout], [code, stderr, ''], args.join(' '));
    }
  });

  test('message append keeps to the quota, as IMAP APPEND does (the one mail service decides)', async () => {
    assert.equal((await cli.run(['user', 'add', 'small@example.org', '--password-stdin', '--quota', '1000'], { stdin: 'password 1' })).code, 0);
    const fits = await cli.run(['message', 'append', 'small@example.org'], { stdin: 'Subject: small\r\n\r\n' + 'x'.repeat(500) + '\r\n' });
    assert.deepEqual([fits.code, fits.stdout], [0, '1\n']);
    const over = await cli.run(['message', 'append', 'small@example.org'], { stdin: 'Subject: big\r\n\r\n' + 'x'.repeat(800) + '\r\n' });
    assert.equal(over.code, 1);
    assert.match(over.stderr, /^postamt: .*quota.*\(see postamt user quota\)\n$/i);
    const list = JSON.parse((await cli.run(['message', 'list', 'small@example.org', '--json'])).stdout) as unknown[];
    assert.equal(list.length, 1);
  });

  test('copyWithCrlf handles a CR at the end of one chunk and LF at the start of the next, and the size limit', async () => {
    const out: Buffer[] = [];
    await copyWithCrlf(Readable.from([Buffer.from('a\r'), Buffer.from('\nb\n'), Buffer.from('\nc')]), (c) => out.push(c), 1000);
    assert.equal(Buffer.concat(out).toString(), 'a\r\nb\r\n\r\nc');
    await assert.rejects(copyWithCrlf(Readable.from([Buffer.alloc(100, 0x61)]), () => {}, 99), /larger than limits\.message_size/);
  });
});
