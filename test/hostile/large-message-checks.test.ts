/**
 * Messages over 10 MiB get the same checks as small ones. Over MX: an 11 MB spoof with a forged
 * "Authentication-Results: <our id>; dkim=pass; dmarc=pass" is refused by DMARC exactly like its small copy,
 * and an 11 MB message that is accepted has the forged field removed and our own results added. On
 * submission: an 11 MB message is DKIM-signed, and the signature verifies (mailauth; dkimpy when installed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { authenticate } from 'mailauth';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { FileDkimKeyStore } from '../../src/dkim/file-key-store.ts';
import { dkimRecordText, generateDkimKey } from '../../src/policy/dkim-sign.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, rawMessage, submit } from '../integration/queue-helpers.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const HOST = 'mx.postamt.test';
const BOB = 'bob@example.test';
const ALICE = 'alice@example.test';
const PYTHON = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0);
const ELEVEN_MB = 11 * 1024 * 1024;
const key = generateDkimKey('rsa');
/** 11 MB through the checks on a loaded machine may take longer than the default 10 s reply wait. */
const SLOW = { timeoutMs: 60_000 };

/** Lines of 76 characters (base64-like) up to `bytes`, CRLF-terminated. */
function padding(bytes: number): string {
  const line = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n';
  return line.repeat(Math.ceil(bytes / line.length));
}

function spoof(from: string, subject: string, bodyBytes: number): string {
  return `Authentication-Results: ${HOST}; dkim=pass header.d=${from.split('@')[1]}; dmarc=pass\r\n` +
    `From: <${from}>\r\nTo: <${BOB}>\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, '.')}@client.test>\r\n\r\n` +
    padding(bodyBytes);
}

describe('every size gets the same checks', () => {
  let dns: DnsServerHandle;
  let t: TestServer;

  before(async () => {
    dns = await startDnsServer({
      '127.0.0.1': { PTR: ['client.test'] },
      'client.test': { A: ['127.0.0.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      'reject.test': { TXT: ['v=spf1 -all'] },
      '_dmarc.reject.test': { TXT: ['v=DMARC1; p=reject'] },
      'pass.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      'example.test': { TXT: ['v=spf1 -all'] },
      's1._domainkey.example.test': { TXT: [dkimRecordText(key)] },
    });
    t = await startTestServer({ hostname: HOST, dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), config: { policy: { trustedNetworks: [] } } });
    await t.addUser(BOB, 'pw');
    await t.addUser(ALICE, PASS);
    await new FileDkimKeyStore({ dataDir: t.dataDir }).addKey('example.test', 's1', 'rsa', key.privateKeyPem, key.publicKeyB64);
  });
  after(async () => {
    await t.stop();
    await dns.stop();
  });

  it('an 11 MB spoof with forged dkim=pass; dmarc=pass is refused by DMARC like its small copy', async () => {
    const small = await sendRaw(t.ports.smtp, { from: 'ceo@reject.test', to: [BOB], data: spoof('ceo@reject.test', 'small spoof', 1000), helo: 'client.test' });
    const large = await sendRaw(t.ports.smtp, { from: 'ceo@reject.test', to: [BOB], data: spoof('ceo@reject.test', 'large spoof', ELEVEN_MB), helo: 'client.test' }, SLOW);
    fig.record({ case: '11 MB spoof, forged dkim=pass; dmarc=pass', figure: `small ${small.code} ${small.text.slice(0, 40)}; large ${large.code} ${large.text.slice(0, 40)}`, limit: 'both 550 5.7.1', pass: small.code === 550 && large.code === 550 });
    assert.equal(small.code, 550, small.text);
    assert.match(small.text, /5\.7\.1 .*DMARC/);
    assert.equal(large.code, 550, large.text);
    assert.match(large.text, /5\.7\.1 .*DMARC/);
    assert.equal((await t.messages(BOB)).length, 0);
  });

  it('an accepted 11 MB message loses the forged Authentication-Results and gets ours', async () => {
    const r = await sendRaw(t.ports.smtp, { from: 'news@pass.test', to: [BOB], data: spoof('news@pass.test', 'large accepted', ELEVEN_MB), helo: 'client.test' }, SLOW);
    assert.equal(r.code, 250, r.text);
    const [stored] = await t.waitForMessages(BOB, 1);
    const raw = await t.read(BOB, stored!.uid);
    assert.ok(raw.length > ELEVEN_MB);
    const head = raw.toString('latin1', 0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
    const results = head.split('\r\n').filter((l) => /^Authentication-Results:/i.test(l));
    assert.equal(results.length, 1, head);
    assert.match(results[0]!, /spf=pass/);
    assert.doesNotMatch(results[0]!, /dmarc=pass/);
    assert.match(head, /^X-Spam-Status:/m);
    assert.ok(raw.subarray(raw.length - 200).toString().endsWith(padding(1)), 'body kept whole');
  });

  it('an 11 MB submitted message is DKIM-signed and the signature verifies', async (ctx) => {
    const body = padding(ELEVEN_MB);
    const reply = await submit(t, ALICE, { from: ALICE, to: [BOB] }, rawMessage(ALICE, BOB, 'large signed', body));
    assert.match(reply, /^250/);
    const list = await t.waitForMessages(BOB, 2);
    const raw = await t.read(BOB, list[list.length - 1]!.uid);
    const head = raw.toString('latin1', 0, raw.indexOf('\r\n\r\n'));
    const signed = /^DKIM-Signature:/im.test(head);
    const resolver = async (name: string, rrtype: string): Promise<unknown> => {
      if (rrtype === 'TXT' && name.toLowerCase() === 's1._domainkey.example.test') return [[dkimRecordText(key)]];
      throw Object.assign(new Error(`${rrtype} ${name}: ENOTFOUND`), { code: 'ENOTFOUND' });
    };
    // The local copy starts with Return-Path, which is not signed: the signature still covers the rest.
    const res = await authenticate(raw, { ip: '127.0.0.1', helo: HOST, sender: ALICE, mta: 'verifier.test', resolver: resolver as never, disableBimi: true });
    const verdicts = res.dkim.results.map((x) => x.status.result);
    fig.record({ case: '11 MB submitted message', figure: `DKIM-Signature ${signed ? 'present' : 'missing'}; mailauth ${verdicts.join(',') || 'none'}`, limit: 'signed, pass', pass: signed && verdicts[0] === 'pass' });
    assert.ok(signed, head);
    assert.deepEqual(verdicts, ['pass']);
    if (!PYTHON) return ctx.skip('python3-dkim not installed: mailauth verified only');
    const py = spawnSync(PYTHON, ['test/fixtures/dkim_verify.py', `s1._domainkey.example.test=${dkimRecordText(key)}`], { input: raw, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(py.status, 0, py.stdout.toString() + py.stderr.toString());
  });
});
