/**
 * A message with a body line longer than 1000 octets (web forms, scripts, HTML mailers send them) is
 * accepted and stored byte for byte up to limits.line_length (64 KiB by default; RFC 5321 §4.5.3.1.6 lets a
 * server accept more than 1000); a line over the configured limit is still refused with 552 5.3.4.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTestServer, type TestServer } from '../harness/server.ts';

const BOB = 'bob@example.test';
let t: TestServer;
let strict: TestServer;

before(async () => {
  t = await startTestServer();
  await t.addUser(BOB, 'bob-password');
  strict = await startTestServer({ config: { limits: { lineLength: 2000 } } });
  await strict.addUser(BOB, 'bob-password');
});

after(async () => {
  await t?.stop();
  await strict?.stop();
});

/** python3 smtplib sends the bytes as given (no re-wrapping); prints the end-of-data reply. */
function pythonSend(port: number, lineOctets: number, marker: string): Promise<string> {
  const script = [
    'import smtplib, sys',
    'port, n, marker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]',
    'body = ("Subject: " + marker + "\\r\\n\\r\\n" + "x" * n + "\\r\\nend\\r\\n").encode()',
    's = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test")',
    's.ehlo()',
    's.mail("alice@sender.test")',
    's.rcpt("' + BOB + '")',
    'code, text = s.data(body)',
    'print(code, text.decode())',
    's.quit()',
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, String(port), String(lineOctets), marker], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout.trim())));
  });
}

describe('long body lines', () => {
  test('a 5,000-octet body line is accepted by default and stored unchanged', async () => {
    const reply = await pythonSend(t.ports.smtp, 5000, 'long-5000');
    assert.match(reply, /^250 /);
    const [m] = await t.waitForMessages(BOB, 1);
    const stored = (await t.read(BOB, m!.uid)).toString();
    assert.ok(stored.includes(`\r\n\r\n${'x'.repeat(5000)}\r\nend\r\n`), 'the long line is stored byte for byte');
  });

  test('a 60,000-octet line is still within the default limit', async () => {
    assert.match(await pythonSend(t.ports.smtp, 60_000, 'long-60000'), /^250 /);
  });

  test('over a configured limit (line_length = 2000) the message is refused with 552 5.3.4, nothing stored', async () => {
    const reply = await pythonSend(strict.ports.smtp, 5000, 'too-long');
    assert.match(reply, /^552 5\.3\.4 Message refused: a line is longer than 2000 octets/);
    assert.equal((await strict.messages(BOB)).length, 0);
    assert.match(await pythonSend(strict.ports.smtp, 1500, 'fits'), /^250 /);
  });
});
