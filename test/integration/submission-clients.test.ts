// Submission with real third-party clients, TLS verified against a test CA: swaks (--tls STARTTLS and
// --tlsc implicit, AUTH PLAIN), curl (smtps:// and smtp:// --ssl-reqd, --cacert) and python smtplib
// (SMTP_SSL and SMTP + starttls). Each test skips when its tool is not installed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { makeTlsFixture, type TlsFixture } from '../harness/test-ca.ts';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const PASS = 'correct horse battery staple';

function has(tool: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(tool, args, { stdio: 'ignore' });
  return !r.error;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

// swaks speaks TLS only with Net::SSLeay (Debian: libnet-ssleay-perl, only recommended by swaks).
const SWAKS = has('swaks') && spawnSync('perl', ['-MNet::SSLeay', '-e', '1'], { stdio: 'ignore' }).status === 0;
const CURL = has('curl');
const PYTHON = has('python3');

describe('submission with swaks, curl and python smtplib', () => {
  let t: TestServer;
  let fixture: TlsFixture;
  before(async () => {
    fixture = makeTlsFixture();
    t = await startTestServer({ startQueue: false, config: { tls: { cert: fixture.certPath, key: fixture.keyPath }, auth: { maxFailuresPerIp: 100 } } });
    await t.addUser(ALICE, PASS);
    await t.addUser(BOB, PASS);
  });
  after(async () => {
    await t?.stop();
    if (fixture) rmSync(fixture.dir, { recursive: true, force: true });
  });

  async function expectDelivered(subject: string): Promise<void> {
    const list = await t.messages(BOB);
    for (const m of list) {
      const raw = (await t.read(BOB, m.uid)).toString('latin1');
      if (raw.includes(`Subject: ${subject}\r\n`)) {
        assert.match(raw, /^Received: .*\r\n\tby mx\.postamt\.test \(Postamt\)\r\n\twith ESMTPSA \(TLSv1\.[23]/m);
        assert.match(raw, /^Message-ID: /im);
        return;
      }
    }
    assert.fail(`no message with subject ${subject} in ${BOB}'s INBOX`);
  }

  function swaksArgs(port: number, mode: '--tls' | '--tlsc', subject: string, password = PASS): string[] {
    return [
      '--server', '127.0.0.1', '--port', String(port), mode, '--tls-verify', '--tls-ca-path', fixture.caPath,
      '--auth', 'PLAIN', '--auth-user', ALICE, '--auth-password', password,
      '--from', ALICE, '--to', BOB, '--header', `Subject: ${subject}`, '--body', 'sent by swaks', '--ehlo', 'swaks.client.test',
    ];
  }

  it('swaks --tls (STARTTLS on 587) with AUTH PLAIN', { skip: SWAKS ? false : 'swaks or Net::SSLeay (libnet-ssleay-perl) not installed' }, async () => {
    const r = await run('swaks', swaksArgs(t.ports.submission, '--tls', 'swaks starttls'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /<~ {1,2}235 /);
    await expectDelivered('swaks starttls');
  });

  it('swaks --tlsc (implicit TLS on 465) with AUTH PLAIN; a wrong password fails with 535', { skip: SWAKS ? false : 'swaks or Net::SSLeay (libnet-ssleay-perl) not installed' }, async () => {
    const r = await run('swaks', swaksArgs(t.ports.submissions, '--tlsc', 'swaks implicit'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await expectDelivered('swaks implicit');
    const bad = await run('swaks', swaksArgs(t.ports.submissions, '--tlsc', 'swaks bad', 'wrong'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /<~\* 535 5\.7\.8 /);
  });

  it('swaks refuses to authenticate over 587 without TLS: the server offers no AUTH', { skip: SWAKS ? false : 'swaks or Net::SSLeay (libnet-ssleay-perl) not installed' }, async () => {
    const r = await run('swaks', ['--server', '127.0.0.1', '--port', String(t.ports.submission), '--auth', 'PLAIN', '--auth-user', ALICE, '--auth-password', PASS, '--from', ALICE, '--to', BOB]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /<~ {1,2}235 /);
  });

  function curlMessage(subject: string): string {
    return `From: ${ALICE}\r\nTo: ${BOB}\r\nSubject: ${subject}\r\n\r\nsent by curl\r\n`;
  }

  it('curl smtps:// (implicit TLS) with --user and --cacert', { skip: CURL ? false : 'curl not installed' }, async () => {
    const r = await run('curl', ['-sS', '--url', `smtps://127.0.0.1:${t.ports.submissions}`, '--cacert', fixture.caPath, '--user', `${ALICE}:${PASS}`, '--mail-from', ALICE, '--mail-rcpt', BOB, '--upload-file', '-'], curlMessage('curl smtps'));
    assert.equal(r.code, 0, r.stderr);
    await expectDelivered('curl smtps');
  });

  it('curl smtp:// --ssl-reqd (STARTTLS) with --user and --cacert; a wrong password fails', { skip: CURL ? false : 'curl not installed' }, async () => {
    const url = `smtp://127.0.0.1:${t.ports.submission}`;
    const r = await run('curl', ['-sS', '--url', url, '--ssl-reqd', '--cacert', fixture.caPath, '--user', `${ALICE}:${PASS}`, '--mail-from', ALICE, '--mail-rcpt', BOB, '--upload-file', '-'], curlMessage('curl starttls'));
    assert.equal(r.code, 0, r.stderr);
    await expectDelivered('curl starttls');
    const bad = await run('curl', ['-sS', '--url', url, '--ssl-reqd', '--cacert', fixture.caPath, '--user', `${ALICE}:wrong`, '--mail-from', ALICE, '--mail-rcpt', BOB, '--upload-file', '-'], curlMessage('curl bad'));
    assert.equal(bad.code, 67, bad.stderr); // CURLE_LOGIN_DENIED
  });

  it('curl without the CA refuses the server certificate', { skip: CURL ? false : 'curl not installed' }, async () => {
    const r = await run('curl', ['-sS', '--url', `smtps://127.0.0.1:${t.ports.submissions}`, '--user', `${ALICE}:${PASS}`, '--mail-from', ALICE, '--mail-rcpt', BOB, '--upload-file', '-'], curlMessage('curl unverified'));
    assert.equal(r.code, 60, r.stderr); // CURLE_PEER_FAILED_VERIFICATION
  });

  const PY = `
import smtplib, ssl, sys
mode, port, ca, user, password, subject = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
msg = f"From: {user}\\r\\nTo: bob@example.org\\r\\nSubject: {subject}\\r\\n\\r\\nsent by python\\r\\n"
try:
    if mode == "ssl":
        s = smtplib.SMTP_SSL("127.0.0.1", int(port), context=ctx)
    else:
        s = smtplib.SMTP("127.0.0.1", int(port))
        s.ehlo()
        assert not s.has_extn("auth"), "AUTH offered before TLS"
        s.starttls(context=ctx)
    s.ehlo()
    s.login(user, password)
    refused = s.sendmail(user, ["bob@example.org"], msg)
    s.quit()
    print("sent", refused)
except smtplib.SMTPAuthenticationError as e:
    print("auth", e.smtp_code, e.smtp_error.decode())
    sys.exit(3)
`;

  for (const mode of ['ssl', 'starttls'] as const) {
    it(`python smtplib ${mode === 'ssl' ? 'SMTP_SSL' : 'SMTP + starttls'} + login`, { skip: PYTHON ? false : 'python3 not installed' }, async () => {
      const port = mode === 'ssl' ? t.ports.submissions : t.ports.submission;
      const r = await run('python3', ['-c', PY, mode, String(port), fixture.caPath, ALICE, PASS, `python ${mode}`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^sent \{\}/m);
      await expectDelivered(`python ${mode}`);
      const bad = await run('python3', ['-c', PY, mode, String(port), fixture.caPath, ALICE, 'wrong', 'python bad']);
      assert.equal(bad.code, 3, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /^auth 535 5\.7\.8 /m);
    });
  }
});
