import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth';
import { dkimRecordText, generateDkimKey, signMessage, splitTxt, formatTxt, publicKeyFromPrivate } from './dkim-sign.ts';
import { checkInbound } from './inbound-auth.ts';
import { staticResolver } from './static-resolver.ts';
import type { DkimKey } from './types.ts';

const PYTHON = '/usr/bin/python3';
const FIXTURES = new URL('../../test/fixtures/', import.meta.url).pathname;
const hasDkimpy = spawnSync(PYTHON, ['-c', 'import dkim, nacl']).status === 0;

const MESSAGE = Buffer.from(
  [
    'From: Alice <alice@example.test>',
    'To: bob@remote.test',
    'Subject: Grüße   with  spaces',
    '  and a folded line',
    'Date: Mon, 23 Nov 2026 10:00:00 +0000',
    'Message-ID: <1@example.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello Bob,   ',
    '',
    'trailing whitespace and empty lines follow \t',
    '',
    '',
  ].join('\r\n'),
  'utf8',
);

function key(domain: string, selector: string, algorithm: 'rsa' | 'ed25519'): DkimKey {
  const k = generateDkimKey(algorithm);
  return { domain, selector, algorithm, privateKeyPem: k.privateKeyPem, publicKeyB64: k.publicKeyB64, createdAt: new Date(), active: true };
}

function recordsFor(keys: DkimKey[]) {
  return Object.fromEntries(keys.map((k) => [`${k.selector}._domainkey.${k.domain}`, { TXT: [dkimRecordText(k)] }]));
}

describe('DKIM signing', () => {
  let rsa: DkimKey;
  let ed: DkimKey;
  before(() => {
    rsa = key('example.test', 'r2026', 'rsa');
    ed = key('example.test', 'e2026', 'ed25519');
  });

  it('produces rsa-sha256 and ed25519-sha256 signatures that mailauth verifies', async () => {
    const sig = await signMessage({ message: MESSAGE, domain: 'example.test', keys: [rsa, ed] });
    const text = sig.toString();
    assert.equal(text.match(/^DKIM-Signature:/gm)?.length, 2);
    assert.match(text, /a=rsa-sha256/);
    assert.match(text, /a=ed25519-sha256/);
    assert.match(text, /c=relaxed\/relaxed/);
    assert.match(text.replace(/\r\n\s+/g, ''), /h=from:from:subject:date:to:message-id:mime-version:content-type;/);
    const result = await dkimVerify(Buffer.concat([sig, MESSAGE]), { resolver: staticResolver(recordsFor([rsa, ed])).resolve as never });
    assert.deepEqual(result.results.map((r) => `${r.selector}:${r.status.result}`), ['r2026:pass', 'e2026:pass']);
  });

  it('detects tampering: a changed body or an added From fails', async () => {
    const sig = await signMessage({ message: MESSAGE, domain: 'example.test', keys: [rsa] });
    const resolver = staticResolver(recordsFor([rsa])).resolve as never;
    const tampered = Buffer.from(MESSAGE.toString().replace('Hello Bob', 'Hello Eve'));
    const r1 = await dkimVerify(Buffer.concat([sig, tampered]), { resolver });
    // mailauth reports a body hash mismatch as "neutral (body hash did not verify)".
    assert.match(r1.results[0]!.status.result, /^(fail|neutral)$/);
    // From is over-signed: a second From added on top breaks the signature (RFC 6376 §8.15).
    const r2 = await dkimVerify(Buffer.concat([sig, Buffer.from('From: mallory@evil.test\r\n'), MESSAGE]), { resolver });
    assert.match(r2.results[0]!.status.result, /^(fail|neutral)$/);
  });

  it('signs LF-only input as its CRLF form', async () => {
    const lf = Buffer.from(MESSAGE.toString().replace(/\r\n/g, '\n'));
    const sig = await signMessage({ message: lf, domain: 'example.test', keys: [rsa] });
    const r = await dkimVerify(Buffer.concat([sig, MESSAGE]), { resolver: staticResolver(recordsFor([rsa])).resolve as never });
    assert.equal(r.results[0]!.status.result, 'pass');
  });

  it('verifies with dkimpy (independent implementation), both algorithms', { skip: !hasDkimpy && 'python3-dkim not installed' }, async () => {
    const sig = await signMessage({ message: MESSAGE, domain: 'example.test', keys: [rsa, ed] });
    const args = [join(FIXTURES, 'dkim_verify.py'), ...[rsa, ed].map((k) => `${k.selector}._domainkey.${k.domain}=${dkimRecordText(k)}`)];
    const run = spawnSync(PYTHON, args, { input: Buffer.concat([sig, MESSAGE]) });
    assert.equal(run.status, 0, run.stdout.toString() + run.stderr.toString());
    assert.equal(run.stdout.toString(), 'sig 0 pass\nsig 1 pass\n');
    const bad = spawnSync(PYTHON, args, { input: Buffer.concat([sig, Buffer.from(MESSAGE.toString().replace('Bob', 'Eve'))]) });
    assert.equal(bad.status, 1);
  });

  it('verifies messages signed by dkimpy, rsa and ed25519', { skip: !hasDkimpy && 'python3-dkim not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postamt-dkim-'));
    const rsaFile = join(dir, 'rsa.pem');
    writeFileSync(rsaFile, createPrivateKey(rsa.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }));
    const edFile = join(dir, 'ed.key');
    // dkimpy takes the raw 32-byte Ed25519 seed, base64.
    const jwk = createPrivateKey(ed.privateKeyPem).export({ format: 'jwk' });
    writeFileSync(edFile, Buffer.from(jwk.d!, 'base64url').toString('base64'));
    const resolver = staticResolver(recordsFor([rsa, ed]));
    for (const [file, alg, selector] of [[rsaFile, 'rsa', 'r2026'], [edFile, 'ed25519', 'e2026']] as const) {
      const run = spawnSync(PYTHON, [join(FIXTURES, 'dkim_sign.py'), 'example.test', selector, file, alg], { input: MESSAGE });
      assert.equal(run.status, 0, run.stderr.toString());
      const auth = await checkInbound({ message: run.stdout, ip: '192.0.2.1', helo: 'mail.example.test', sender: 'alice@example.test', hostname: 'mx.postamt.test', resolver });
      assert.equal(auth.dkim.length, 1);
      assert.equal(auth.dkim[0]!.result, 'pass', `${alg}: ${auth.authResultsHeader}`);
      assert.equal(auth.dkim[0]!.aligned, true);
      assert.match(auth.authResultsHeader, new RegExp(`dkim=pass header.i=@example.test header.s=${selector}`));
    }
  });

  it('derives the published key from the private key, and splits long TXT records into 255-octet strings', () => {
    assert.equal(publicKeyFromPrivate(rsa.privateKeyPem, 'rsa'), rsa.publicKeyB64);
    assert.equal(publicKeyFromPrivate(ed.privateKeyPem, 'ed25519'), ed.publicKeyB64);
    assert.equal(Buffer.from(ed.publicKeyB64, 'base64').length, 32);
    const text = dkimRecordText(rsa);
    assert.ok(text.length > 255);
    const parts = splitTxt(text);
    assert.ok(parts.every((p) => p.length <= 255));
    assert.equal(parts.join(''), text);
    assert.match(formatTxt(text), /^"v=DKIM1; k=rsa; p=[^"]{1,240}" "[^"]+"$/);
  });

  it('generates 2048-bit RSA keys', () => {
    const k = createPrivateKey(rsa.privateKeyPem);
    assert.equal(k.asymmetricKeyDetails?.modulusLength, 2048);
    void generateKeyPairSync;
  });
});
