/**
 * The SMTP MX role with the command-line clients admins reach for: swaks, curl and python3 smtplib.
 * Each test skips when its tool is not installed.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../harness/server.ts';

const BOB = 'bob@example.test';
const HOST = 'mx.postamt.test';

let t: TestServer;
let dir: string;
let caFile: string;

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function run(cmd: string, args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

before(async () => {
  t = await startTestServer({ hostname: HOST });
  await t.addUser(BOB, 'bob-password');
  dir = mkdtempSync(join(tmpdir(), 'postamt-clients-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, t.ca);
});

after(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function token(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** The one stored message whose bytes contain `needle`. */
async function storedWith(needle: string): Promise<Buffer> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found: Buffer[] = [];
    for (const m of await t.messages(BOB)) {
      const bytes = await t.read(BOB, m.uid);
      if (bytes.includes(needle)) found.push(bytes);
    }
    assert.ok(found.length <= 1, `${found.length} copies containing ${needle}`);
    if (found.length === 1) return found[0]!;
    if (Date.now() > deadline) assert.fail(`no stored message contains ${needle}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function transactionLog(needle: (l: Record<string, unknown>) => boolean): Record<string, unknown> {
  const found = t.logs.filter((l) => l.event === 'smtp.transaction' && needle(l));
  assert.ok(found.length > 0, 'an smtp.transaction log line');
  return found[found.length - 1]!;
}

describe('swaks', () => {
  const skip = (ctx: TestContext): boolean => {
    if (have('swaks')) return false;
    ctx.skip('swaks is not installed');
    return true;
  };
  const base = (): string[] => ['--server', `127.0.0.1:${t.ports.smtp}`, '--to', BOB, '--from', 'alice@sender.test', '--helo', 'swaks.test'];

  test('plain', async (ctx) => {
    if (skip(ctx)) return;
    const id = token('swaks-plain');
    const r = await run('swaks', [...base(), '--header', `Subject: ${id}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /<- {1,2}250 2\.0\.0 /);
    const stored = await storedWith(`Subject: ${id}\r\n`);
    assert.match(stored.toString(), /^Return-Path: <alice@sender\.test>\r\nReceived: from swaks\.test /);
  });

  test('--tls uses STARTTLS', async (ctx) => {
    if (skip(ctx)) return;
    const id = token('swaks-tls');
    const r = await run('swaks', [...base(), '--tls', '--header', `Subject: ${id}`]);
    if (/TLS not available/.test(r.stdout + r.stderr)) {
      ctx.skip('swaks has no TLS support here (Net::SSLeay, Debian libnet-ssleay-perl, is missing)');
      return;
    }
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /<~ {1,2}250 2\.0\.0 /, 'the 250 was read over TLS (<~)');
    await storedWith(`Subject: ${id}\r\n`);
    assert.match(String(transactionLog((l) => l.helo === 'swaks.test').tls), /^TLSv1\.[23]$/);
  });

  test('--pipeline', async (ctx) => {
    if (skip(ctx)) return;
    const id = token('swaks-pipe');
    const r = await run('swaks', [...base(), '--pipeline', '--header', `Subject: ${id}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PIPELINING/);
    await storedWith(`Subject: ${id}\r\n`);
  });

  test('--data with a dotted line', async (ctx) => {
    if (skip(ctx)) return;
    const id = token('swaks-dots');
    const data = `Subject: ${id}\nMessage-ID: <${id}@swaks>\n\nbefore\n.dotted line\n..two\nafter`;
    // swaks ends the data with CRLF . CRLF itself, so the text has no final line break.
    const r = await run('swaks', [...base(), '--data', '-'], data);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const stored = (await storedWith(`Message-ID: <${id}@swaks>`)).toString();
    assert.ok(stored.endsWith('\r\n\r\nbefore\r\n.dotted line\r\n..two\r\nafter\r\n'), JSON.stringify(stored.slice(-80)));
  });
});

describe('curl', () => {
  const skip = (ctx: TestContext): boolean => {
    if (have('curl')) return false;
    ctx.skip('curl is not installed');
    return true;
  };

  for (const tls of [false, true]) {
    test(tls ? 'smtp:// with --ssl-reqd and --cacert' : 'smtp:// -T file', async (ctx) => {
      if (skip(ctx)) return;
      const id = token(tls ? 'curl-tls' : 'curl');
      const message = `From: alice@sender.test\r\nTo: ${BOB}\r\nSubject: ${id}\r\nMessage-ID: <${id}@curl>\r\n\r\nline\r\n.starts with a dot\r\nend\r\n`;
      const file = join(dir, `${id}.eml`);
      writeFileSync(file, message);
      const args = ['-sS', `smtp://${HOST}:${t.ports.smtp}/curl.test`, '--resolve', `${HOST}:${t.ports.smtp}:127.0.0.1`,
        '--mail-from', 'alice@sender.test', '--mail-rcpt', BOB, '-T', file];
      if (tls) args.push('--ssl-reqd', '--cacert', caFile);
      const r = await run('curl', args);
      assert.equal(r.code, 0, r.stderr);
      const stored = await storedWith(`Message-ID: <${id}@curl>`);
      assert.ok(stored.subarray(stored.length - message.length).equals(Buffer.from(message)), 'stored ends with the file bytes');
      const log = transactionLog((l) => l.helo === 'curl.test' && l.size === message.length);
      assert.equal(log.code, 250);
      if (tls) assert.match(String(log.tls), /^TLSv1\.[23]$/);
    });
  }
});

describe('python3 smtplib', () => {
  test('sendmail in plain text and after starttls', async (ctx) => {
    if (!have('python3')) {
      ctx.skip('python3 is not installed');
      return;
    }
    const plain = token('py-plain');
    const secure = token('py-tls');
    const script = `
import smtplib, ssl, sys
port, ca, rcpt, plain, secure = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def msg(t): return ("From: alice@sender.test\\r\\nTo: %s\\r\\nSubject: %s\\r\\n\\r\\nhello from python\\r\\n" % (rcpt, t)).encode()
with smtplib.SMTP("127.0.0.1", port, local_hostname="python.test") as s:
    s.ehlo()
    assert s.has_extn("starttls")
    print(s.sendmail("alice@sender.test", [rcpt], msg(plain)))
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    code, _ = s.starttls(context=ctx)
    assert code == 220, code
    s.ehlo()
    print(s.sendmail("alice@sender.test", [rcpt], msg(secure)))
    try:
        s.sendmail("alice@sender.test", ["nobody@elsewhere.test"], msg("relay"))
    except smtplib.SMTPRecipientsRefused as e:
        print("refused", e.recipients["nobody@elsewhere.test"][0])
`;
    const r = await run('python3', ['-c', script, String(t.ports.smtp), caFile, BOB, plain, secure]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['{}', '{}', 'refused 554']);
    for (const id of [plain, secure]) {
      const stored = await storedWith(`Subject: ${id}\r\n`);
      assert.ok(stored.toString().endsWith(`Subject: ${id}\r\n\r\nhello from python\r\n`));
    }
    assert.match(String(transactionLog((l) => l.helo === 'python.test' && l.code === 250).tls), /^TLSv1\.[23]$/, 'the last python transaction ran over TLS');
  });
});
