// Real third-party mail clients against the whole running server: curl (imaps:// and
// pop3s://), Python's imaplib, mbsync (isync) into a Maildir, mutt in batch mode under a pty, and fetchmail
// keeping (UIDL) and then deleting. Every client verifies our certificate against the test CA. Each tool
// gets its own account so the cases do not depend on each other; a missing tool skips its case.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { sendRaw, dotStuff } from '../harness/smtp-raw.ts';

const HOST = 'mx.postamt.test';
const PASS = 'client pass 42';

function have(cmd: string, args: string[] = ['--version']): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status !== null && spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a client asynchronously: the server lives in this process, so spawnSync would deadlock it. */
function run(cmd: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...options.env }, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

describe('real mail clients against the running server', () => {
  let t: TestServer;
  let dir: string;
  let caFile: string;

  before(async () => {
    t = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'postamt-clients-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, t.ca);
  });
  after(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh account with `n` messages delivered through the MX port. */
  async function mailbox(user: string, n: number): Promise<void> {
    await t.addUser(user, PASS);
    for (let i = 1; i <= n; i++) {
      const data = `From: sender@example.net\r\nTo: ${user}\r\nSubject: ${user} message ${i}\r\nMessage-ID: <${i}.${user}>\r\n\r\nbody ${i} of ${user}\r\n.dot line\r\n`;
      const reply = await sendRaw(t.ports.smtp, { from: 'sender@example.net', to: [user], data: dotStuff(data) });
      assert.equal(reply.code, 250);
    }
    await t.waitForMessages(user, n);
  }

  const curlTls = (port: number): string[] => ['-sS', '--cacert', caFile, '--resolve', `${HOST}:${port}:127.0.0.1`];

  it('curl lists and fetches over imaps://', { skip: have('curl') ? false : 'curl is not installed' }, async () => {
    const user = 'curl-imap@example.org';
    await mailbox(user, 2);
    const port = t.ports.imaps;
    const list = await run('curl', [...curlTls(port), `imaps://${HOST}:${port}/`, '--user', `${user}:${PASS}`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout.toString(), /\* LIST \([^)]*\\Sent[^)]*\) "\/" "?Sent"?/);
    assert.match(list.stdout.toString(), /"?INBOX"?\r?\n/);
    const uid = (await t.messages(user))[1]!.uid;
    const fetched = await run('curl', [...curlTls(port), `imaps://${HOST}:${port}/INBOX;UID=${uid}`, '--user', `${user}:${PASS}`]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.deepEqual(fetched.stdout, await t.read(user, uid));
    const wrong = await run('curl', [...curlTls(port), `imaps://${HOST}:${port}/`, '--user', `${user}:nope`]);
    assert.equal(wrong.code, 67, 'curl reports a login failure');
  });

  it('curl lists and retrieves over pop3s://', { skip: have('curl') ? false : 'curl is not installed' }, async () => {
    const user = 'curl-pop@example.org';
    await mailbox(user, 2);
    const port = t.ports.pop3s;
    const records = await t.messages(user);
    const list = await run('curl', [...curlTls(port), `pop3s://${HOST}:${port}/`, '--user', `${user}:${PASS}`]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.toString(), records.map((m, i) => `${i + 1} ${m.size}\r\n`).join(''));
    const retr = await run('curl', [...curlTls(port), `pop3s://${HOST}:${port}/2`, '--user', `${user}:${PASS}`]);
    assert.equal(retr.code, 0, retr.stderr);
    assert.deepEqual(retr.stdout, await t.read(user, records[1]!.uid), 'RETR is byte-exact (dot-stuffing undone by curl)');
  });

  it('python imaplib: login, select, search, fetch, store, expunge over IMAP4_SSL', { skip: have('python3') ? false : 'python3 is not installed' }, async () => {
    const user = 'imaplib@example.org';
    await mailbox(user, 3);
    const script = `
import imaplib, json, os, socket, ssl
_gai = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _gai('127.0.0.1' if host == '${HOST}' else host, *a, **k)
ctx = ssl.create_default_context(cafile=os.environ['CA_FILE'])
m = imaplib.IMAP4_SSL('${HOST}', int(os.environ['PORT']), ssl_context=ctx)
m.login(os.environ['U'], os.environ['P'])
typ, data = m.select('INBOX')
exists = int(data[0])
typ, s = m.uid('SEARCH', None, 'SUBJECT', '"message 2"')
uid = s[0].decode()
typ, f = m.uid('FETCH', uid, '(BODY.PEEK[] FLAGS)')
body = f[0][1]
typ, st = m.uid('STORE', uid, '+FLAGS', '(\\\\Deleted)')
typ, ex = m.expunge()
typ, data = m.select('INBOX')
after = int(data[0])
m.logout()
print(json.dumps(dict(exists=exists, uid=int(uid), body=body.decode('latin1'), expunged=[x.decode() for x in ex if x], after=after)))
`;
    const r = await run('python3', ['-c', script], { env: { CA_FILE: caFile, PORT: String(t.ports.imaps), U: user, P: PASS } });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.toString()) as { exists: number; uid: number; body: string; expunged: string[]; after: number };
    assert.equal(out.exists, 3);
    const records = await t.messages(user);
    assert.equal(records.length, 2, 'the expunge reached the store');
    assert.ok(!records.some((m) => m.uid === out.uid));
    assert.equal(out.uid, 2);
    assert.match(out.body, new RegExp(`Subject: ${user} message 2\r\n`));
    assert.deepEqual(out.expunged, ['2']);
    assert.equal(out.after, 2);
  });

  it('mbsync pulls INBOX into a Maildir', { skip: have('mbsync', ['-v']) ? false : 'mbsync (isync) is not installed' }, async () => {
    const user = 'mbsync@example.org';
    await mailbox(user, 3);
    const home = join(dir, 'mbsync');
    mkdirSync(join(home, 'mail'), { recursive: true });
    const rc = join(home, 'mbsyncrc');
    writeFileSync(rc, [
      'IMAPAccount postamt', 'Host 127.0.0.1', `Port ${t.ports.imaps}`, `User ${user}`, `Pass "${PASS}"`, 'SSLType IMAPS', `CertificateFile ${caFile}`, '',
      'IMAPStore remote', 'Account postamt', '',
      'MaildirStore local', `Path ${join(home, 'mail')}/`, `Inbox ${join(home, 'mail', 'INBOX')}`, '',
      'Channel inbox', 'Far :remote:INBOX', 'Near :local:INBOX', 'Create Near', 'Sync Pull', 'SyncState *', '',
    ].join('\n'));
    const r = await run('mbsync', ['-c', rc, 'inbox'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    const files = ['new', 'cur'].flatMap((sub) => readdirSync(join(home, 'mail', 'INBOX', sub)).map((f) => join(home, 'mail', 'INBOX', sub, f)));
    assert.equal(files.length, 3);
    // Maildir stores LF line ends and mbsync adds its X-TUID header; otherwise the bytes are the server's.
    const expected = await Promise.all((await t.messages(user)).map(async (m) => (await t.read(user, m.uid)).toString('latin1').replace(/\r\n/g, '\n')));
    const got = files.map((f) => readFileSync(f, 'latin1').replace(/^X-TUID: .*\n/m, ''));
    assert.deepEqual(got.sort(), expected.sort());
  });

  it('mutt opens the IMAP INBOX in batch mode and copies every message to an mbox', { skip: have('mutt', ['-v']) && have('script', ['-V']) ? false : 'mutt or script is not installed' }, async () => {
    const user = 'mutt@example.org';
    await mailbox(user, 2);
    const home = join(dir, 'mutt');
    mkdirSync(home, { recursive: true });
    const mbox = join(home, 'copied.mbox');
    const rc = join(home, 'muttrc');
    // mutt checks the chain against certificate_file; it cannot be told our name resolves to 127.0.0.1, so
    // only the host name check is relaxed.
    writeFileSync(rc, [
      `set imap_user="${user}"`, `set imap_pass="${PASS}"`, `set certificate_file="${caFile}"`, 'set ssl_verify_host=no',
      // An existing folder: otherwise the first run asks to create ~/Mail and the prompt eats the pushed keys.
      `set folder="${home}"`, 'set header_cache=""', 'set confirmappend=no', 'set confirmcreate=no', 'set mbox_type=mbox', 'set timeout=1', '',
    ].join('\n'));
    const url = `imaps://127.0.0.1:${t.ports.imaps}/INBOX`;
    const keys = `<tag-pattern>~A<enter><tag-prefix><copy-message>${mbox}<enter><quit>`;
    const r = await run('script', ['-qec', `mutt -n -F ${rc} -f '${url}' -e 'push "${keys}"'`, '/dev/null'], { env: { HOME: home, TERM: 'xterm' }, timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(mbox), `mutt wrote no mbox: ${r.stdout.toString().slice(-400)}`);
    const text = readFileSync(mbox, 'utf8');
    assert.match(text, new RegExp(`Subject: ${user} message 1\n`));
    assert.match(text, new RegExp(`Subject: ${user} message 2\n`));
    assert.equal(text.match(/^From /gm)?.length, 2);
  });

  it('fetchmail keeps with UIDL (second run fetches nothing), then fetches and deletes', { skip: have('fetchmail') ? false : 'fetchmail is not installed' }, async () => {
    const user = 'fetchmail@example.org';
    await mailbox(user, 2);
    const home = join(dir, 'fetchmail');
    mkdirSync(home, { recursive: true });
    const out = join(home, 'delivered.mbox');
    const rc = join(home, 'fetchmailrc');
    const writeRc = (mode: 'keep' | 'nokeep fetchall'): void => {
      writeFileSync(rc, [
        'set no bouncemail',
        `poll ${HOST} via 127.0.0.1 service ${t.ports.pop3s} protocol pop3 uidl`,
        `  user "${user}" password "${PASS}" is "local" here`,
        `  ssl sslcertck sslcertfile "${caFile}" sslcommonname ${HOST}`,
        `  ${mode}`,
        `  mda "cat >> ${out}"`,
        '',
      ].join('\n'));
      chmodSync(rc, 0o600);
    };
    const fetchmail = (): Promise<RunResult> => run('fetchmail', ['-f', rc, '--nodetach', '-N'], { env: { HOME: home, FETCHMAILHOME: home } });
    const count = (): number => (existsSync(out) ? readFileSync(out, 'utf8').match(/^Subject: /gm)?.length ?? 0 : 0);

    writeRc('keep');
    let r = await fetchmail();
    assert.equal(r.code, 0, `${r.stderr}${r.stdout}`);
    assert.equal(count(), 2);
    const text = readFileSync(out, 'utf8');
    assert.match(text, new RegExp(`Subject: ${user} message 1\r?\n`));
    assert.match(text, new RegExp(`body 2 of ${user}\r?\n\\.dot line`));
    assert.equal((await t.messages(user)).length, 2, 'keep leaves the messages on the server');

    r = await fetchmail();
    assert.equal(r.code, 1, `second run finds no new mail: ${r.stderr}`);
    assert.equal(count(), 2, 'UIDL: nothing fetched twice');

    writeRc('nokeep fetchall');
    r = await fetchmail();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(count(), 4);
    assert.equal((await t.messages(user)).length, 0, 'without keep the messages are deleted');
  });
});
