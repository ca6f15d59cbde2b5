/**
 * Outbound DKIM end to end: keys generated into the server's key store (rsa-sha256 and ed25519-sha256),
 * a message submitted on 587 and relayed by the queue to a sink; what the sink received is verified by
 * mailauth and by dkimpy (Debian's python3-dkim, the `dkimverify` implementation).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { authenticate } from 'mailauth';
import { FileDkimKeyStore } from '../../src/dkim/file-key-store.ts';
import { dkimRecordText, generateDkimKey } from '../../src/policy/dkim-sign.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, rawMessage, submit } from './queue-helpers.ts';

const ALICE = 'alice@example.test';
/** A python3 that has dkimpy (Debian installs it for /usr/bin/python3, which may not be first on PATH). */
const PYTHON = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0);
const hasDkimpy = PYTHON !== undefined;

describe('outbound DKIM signatures verify independently', () => {
  let sink: SmtpSinkHandle;
  let t: TestServer;
  const records: Record<string, string> = {};

  before(async () => {
    sink = await startSmtpSink();
    t = await startTestServer({ config: { queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } } } } });
    await t.addUser(ALICE, PASS);
    const store = new FileDkimKeyStore({ dataDir: t.dataDir });
    for (const [selector, algorithm] of [['s1', 'rsa'], ['e1', 'ed25519']] as const) {
      const k = generateDkimKey(algorithm);
      await store.addKey('example.test', selector, algorithm, k.privateKeyPem, k.publicKeyB64);
      records[`${selector}._domainkey.example.test`] = dkimRecordText(k);
    }
  });
  after(async () => {
    await t.stop();
    await sink.stop();
  });

  it('a submitted message reaches the next hop with an rsa-sha256 and an ed25519-sha256 signature that both verify', async (ctx) => {
    await submit(t, ALICE, { from: ALICE, to: ['carol@far.test'] }, rawMessage(ALICE, 'carol@far.test', 'signed outbound', 'Line one.\r\n\r\nTrailing spaces   \r\n'));
    const [got] = await sink.waitForMessages(1);
    const data = got!.data;
    const head = data.toString('latin1').slice(0, data.indexOf('\r\n\r\n'));
    assert.equal((head.match(/^DKIM-Signature:/gim) ?? []).length, 2, head);
    assert.match(head, /a=rsa-sha256/);
    assert.match(head, /a=ed25519-sha256/);
    assert.match(head.replace(/\r\n[ \t]+/g, ' '), /h=from:[^;]*from/i, 'From is over-signed');

    const resolver = async (name: string, rrtype: string): Promise<unknown> => {
      const txt = records[name.toLowerCase()];
      if (rrtype === 'TXT' && txt) return [[txt]];
      throw Object.assign(new Error(`${rrtype} ${name}: ENOTFOUND`), { code: 'ENOTFOUND' });
    };
    const res = await authenticate(data, { ip: '127.0.0.1', helo: 'mx.postamt.test', sender: ALICE, mta: 'verifier.test', resolver: resolver as never, disableBimi: true });
    const results = res.dkim.results.map((r) => `${r.status.result} ${r.signingDomain} ${String((r as { algo?: string }).algo ?? '')}`);
    assert.equal(res.dkim.results.length, 2, results.join('\n'));
    assert.ok(res.dkim.results.every((r) => r.status.result === 'pass'), results.join('\n'));

    if (!hasDkimpy) return ctx.skip('python3-dkim not installed: mailauth verified only');
    const py = spawnSync(PYTHON!, ['test/fixtures/dkim_verify.py', ...Object.entries(records).map(([n, v]) => `${n}=${v}`)], { input: data });
    assert.equal(py.status, 0, `${py.stdout}${py.stderr}`);
    assert.equal(String(py.stdout).trim().split('\n').filter((l) => / pass$/.test(l)).length, 2, String(py.stdout));
  });

  it('a tampered body fails verification (the check can fail)', async () => {
    const [got] = await sink.waitForMessages(1);
    const tampered = Buffer.from(got!.data.toString('latin1').replace('Line one.', 'Line 1.'), 'latin1');
    const resolver = async (name: string): Promise<unknown> => {
      const txt = records[name.toLowerCase()];
      if (txt) return [[txt]];
      throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const res = await authenticate(tampered, { ip: '127.0.0.1', helo: 'mx.postamt.test', sender: ALICE, mta: 'verifier.test', resolver: resolver as never, disableBimi: true });
    assert.ok(res.dkim.results.length === 2 && res.dkim.results.every((r) => r.status.result !== 'pass'));
  });
});
