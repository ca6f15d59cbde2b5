// The whole running server through POP3 with Python's poplib: POP3_SSL and POP3 + STLS, byte-exact
// RETR/TOP with dot-stuffing, UIDL stable across sessions, DELE+QUIT removes (an IDLE IMAP session sees it at
// once), DELE+dropped connection removes nothing, a second concurrent login gets -ERR [IN-USE].
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { sendRaw, dotStuff } from '../harness/smtp-raw.ts';

const USER = 'pop-user@example.org';
const PASS = 'pop secret 123';
const HOST = 'mx.postamt.test';
const hasPython = spawnSync('python3', ['-c', 'import poplib, ssl'], { stdio: 'ignore' }).status === 0;

// Python resolves our certificate's name to loopback, so the TLS check is real (CA + hostname).
const PRELUDE = `
import json, os, poplib, socket, ssl, sys
_gai = socket.getaddrinfo
def _resolve(host, *a, **k):
    return _gai('127.0.0.1' if host == ${JSON.stringify(HOST)} else host, *a, **k)
socket.getaddrinfo = _resolve
CTX = ssl.create_default_context(cafile=os.environ['CA_FILE'])
HOST = ${JSON.stringify(HOST)}
USER = os.environ['POP_USER']; PASS = os.environ['POP_PASS']
P110 = int(os.environ['P110']); P995 = int(os.environ['P995'])
def ssl_login():
    p = poplib.POP3_SSL(HOST, P995, context=CTX, timeout=5)
    p.user(USER); p.pass_(PASS)
    return p
def uidl(p):
    return dict(x.decode().split(' ', 1) for x in p.uidl()[1])
def out(o):
    print(json.dumps(o))
`;

describe('POP3 server through the running server (python poplib)', { skip: hasPython ? false : 'python3 with poplib/ssl is not installed' }, () => {
  let t: TestServer;
  let dir: string;
  let caFile: string;

  before(async () => {
    t = await startTestServer();
    await t.addUser(USER, PASS);
    dir = mkdtempSync(join(tmpdir(), 'postamt-pop3-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, t.ca);
  });
  after(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a Python script asynchronously (the server lives in this process) and parses its last JSON line. */
  function py<T = Record<string, unknown>>(body: string, user = USER): Promise<T> {
    return new Promise((resolve, reject) => {
      const child = spawn('python3', ['-c', PRELUDE + body], {
        env: { ...process.env, CA_FILE: caFile, POP_USER: user, POP_PASS: PASS, P110: String(t.ports.pop3), P995: String(t.ports.pop3s) },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`python exited ${code}: ${stderr}\n${stdout}`));
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`no JSON from python: ${stdout} ${stderr}`));
        }
      });
    });
  }

  async function deliver(subject: string, body: string, user = USER): Promise<number> {
    const before = (await t.messages(user)).length;
    const data = `From: sender@example.net\r\nTo: ${user}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\n\r\n${body}`;
    const reply = await sendRaw(t.ports.smtp, { from: 'sender@example.net', to: [user], data: dotStuff(data) });
    assert.equal(reply.code, 250, JSON.stringify(reply));
    const list = await t.waitForMessages(user, before + 1);
    return list[list.length - 1]!.uid;
  }

  it('retrieves byte-exact over POP3S (dot-stuffing, TOP) and keeps UIDL stable across sessions', async () => {
    const u1 = await deliver('First', 'line one\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n');
    const u2 = await deliver('Second', 'second body\r\n');
    const stored1 = await t.read(USER, u1);
    const stored2 = await t.read(USER, u2);
    const r = await py<{ stat: number[]; list: string[]; m1: string; m2: string; top: string; uidl1: Record<string, string>; uidl2: Record<string, string>; welcome: string }>(`
p = ssl_login()
welcome = p.getwelcome().decode()
stat = list(p.stat())
lst = [x.decode() for x in p.list()[1]]
m1 = b'\\r\\n'.join(p.retr(1)[1]) + b'\\r\\n'
m2 = b'\\r\\n'.join(p.retr(2)[1]) + b'\\r\\n'
top = b'\\r\\n'.join(p.top(1, 2)[1]) + b'\\r\\n'
u1 = uidl(p)
p.quit()
p = ssl_login()
u2 = uidl(p)
p.quit()
out(dict(welcome=welcome, stat=stat, list=lst, m1=m1.decode('latin1'), m2=m2.decode('latin1'), top=top.decode('latin1'), uidl1=u1, uidl2=u2))
`);
    assert.match(r.welcome, /^\+OK/);
    assert.deepEqual(r.stat, [2, stored1.length + stored2.length]);
    assert.deepEqual(r.list, [`1 ${stored1.length}`, `2 ${stored2.length}`]);
    assert.equal(r.m1, stored1.toString('latin1'));
    assert.equal(r.m2, stored2.toString('latin1'));
    const headerEnd = stored1.indexOf('\r\n\r\n') + 4;
    assert.equal(r.top, stored1.subarray(0, headerEnd).toString('latin1') + 'line one\r\n.leading dot\r\n');
    assert.deepEqual(r.uidl1, r.uidl2, 'leave-on-server: UIDL is the same in the next session');
    assert.notEqual(r.uidl1['1'], r.uidl1['2']);
    assert.equal((await t.messages(USER)).length, 2, 'nothing was removed');
  });

  it('removes nothing when the connection drops after DELE, and removes on DELE+QUIT (seen by an IDLE IMAP session)', async () => {
    const before = (await t.messages(USER)).map((m) => m.uid);
    await py(`
p = ssl_login()
p.dele(1); p.dele(2)
p.sock.close()
out(dict(ok=True))
`);
    // The server notices the close; the lock is released and nothing was expunged.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual((await t.messages(USER)).map((m) => m.uid), before);

    const imap = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { ca: [t.ca], servername: HOST }, auth: { user: USER, pass: PASS }, logger: false, disableAutoIdle: true });
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      const expunged: number[] = [];
      const gotExpunge = new Promise<void>((resolve) => imap.on('expunge', () => {
        expunged.push(Date.now());
        if (expunged.length === 1) resolve();
      }));
      const idling = imap.idle();
      await new Promise((r) => setTimeout(r, 100));
      const r = await py<{ rset: number; after: number[]; quit: string }>(`
p = ssl_login()
p.dele(1)
p.rset()
rset = p.stat()[0]
p.dele(1)
after = list(p.stat())
quit = p.quit().decode()
out(dict(rset=rset, after=after, quit=quit))
`);
      const quitAt = Date.now();
      assert.equal(r.rset, 2, 'RSET unmarks');
      assert.equal(r.after[0], 1, 'a deleted message is hidden from STAT');
      assert.match(r.quit, /^\+OK/);
      assert.deepEqual((await t.messages(USER)).map((m) => m.uid), before.slice(1));
      await gotExpunge;
      assert.ok(expunged[0]! - quitAt < 1000, 'the IDLE IMAP session saw the EXPUNGE at once');
      await imap.noop();
      await idling;
      assert.equal((imap.mailbox as { exists: number }).exists, 1);
    } finally {
      await imap.logout();
    }
  });

  it('answers a second concurrent login with -ERR [IN-USE] and a wrong password with [AUTH]', async () => {
    const r = await py<{ second: string; bad: string; third: string }>(`
a = ssl_login()
b = poplib.POP3_SSL(HOST, P995, context=CTX, timeout=5)
b.user(USER)
try:
    b.pass_(PASS); second = 'accepted'
except poplib.error_proto as e:
    second = e.args[0].decode()
c = poplib.POP3_SSL(HOST, P995, context=CTX, timeout=5)
c.user(USER)
try:
    c.pass_('wrong'); bad = 'accepted'
except poplib.error_proto as e:
    bad = e.args[0].decode()
a.quit()
b.user(USER)
third = b.pass_(PASS).decode()
b.quit()
out(dict(second=second, bad=bad, third=third))
`);
    assert.match(r.second, /^-ERR \[IN-USE\]/);
    assert.match(r.bad, /^-ERR \[AUTH\]/);
    assert.match(r.third, /^\+OK/, 'the lock is released by QUIT');
  });

  it('refuses USER/PASS before STLS on 110 and works after stls()', async () => {
    const r = await py<{ capaBefore: string[]; before: string; capaAfter: string[]; stat: number[] }>(`
p = poplib.POP3(HOST, P110, timeout=5)
capa_before = sorted(p.capa().keys())
try:
    p.user(USER); p.pass_(PASS); before = 'accepted'
except poplib.error_proto as e:
    before = e.args[0].decode()
p.stls(context=CTX)
capa_after = sorted(p.capa().keys())
p.user(USER); p.pass_(PASS)
stat = list(p.stat())
p.quit()
out(dict(capaBefore=capa_before, before=before, capaAfter=capa_after, stat=stat))
`);
    assert.ok(r.capaBefore.includes('STLS'));
    assert.ok(!r.capaBefore.includes('USER'), 'USER is not offered in clear text');
    assert.match(r.before, /^-ERR/);
    assert.ok(!r.capaAfter.includes('STLS'));
    assert.ok(r.capaAfter.includes('USER') && r.capaAfter.includes('UIDL') && r.capaAfter.includes('RESP-CODES'));
    const left = await t.messages(USER);
    assert.deepEqual(r.stat, [left.length, left.reduce((a, m) => a + m.size, 0)]);
  });

  it('streams a large message with many dot lines byte-exact through RETR', async () => {
    const user = 'pop-big@example.org';
    await t.addUser(user, PASS);
    const body = Array.from({ length: 30_000 }, (_, i) => (i % 3 === 0 ? `.line ${i} ${'x'.repeat(40)}` : `line ${i} ${'y'.repeat(40)}`)).join('\r\n') + '\r\n';
    const uid = await deliver('Big', body, user);
    const stored = await t.read(user, uid);
    const r = await py<{ size: number; sha: string }>(`
import hashlib
p = ssl_login()
data = b'\\r\\n'.join(p.retr(1)[1]) + b'\\r\\n'
p.quit()
out(dict(size=len(data), sha=hashlib.sha256(data).hexdigest()))
`, user);
    assert.ok(stored.length > 1_000_000);
    assert.equal(r.size, stored.length);
    assert.equal(r.sha, createHash('sha256').update(stored).digest('hex'));
  });
});
