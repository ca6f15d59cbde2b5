/**
 * The self-signed certificate made at first start names what users type to reach the server: the
 * configured hostname, localhost, 127.0.0.1 and ::1. Python's ssl module (which verifies host names like
 * fetchmail and mutt do) must accept it for 127.0.0.1 and localhost on IMAPS and SMTPS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildServer } from '../harness/child-server.ts';

let server: ChildServer;
before(async () => {
  server = await ChildServer.create({ roles: ['submissions', 'imaps'], hostname: 'mail.example.test' });
  await server.start();
});
after(async () => {
  await server?.stop();
});

const PYTHON = `
import ssl, sys, smtplib, imaplib
cafile, host, smtps, imaps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=cafile)
s = smtplib.SMTP_SSL(host, smtps, context=ctx, timeout=10); s.ehlo(); s.quit()
i = imaplib.IMAP4_SSL(host, imaps, ssl_context=ctx, timeout=10); i.logout()
print("verified", host)
`;

describe('the self-signed certificate matches the names users type', () => {
  test('openssl shows the hostname, localhost, 127.0.0.1 and ::1 as subject alternative names', () => {
    const cert = join(server.dataDir, 'tls', 'selfsigned.crt');
    const text = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    for (const name of ['DNS:mail.example.test', 'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']) assert.ok(text.includes(name), `${name} missing in\n${text}`);
  });

  for (const host of ['127.0.0.1', 'localhost']) {
    test(`python ssl verifies SMTPS and IMAPS at ${host} against data/tls/selfsigned.crt`, () => {
      const script = join(server.dataDir, 'verify.py');
      writeFileSync(script, PYTHON);
      const r = spawnSync('python3', [script, join(server.dataDir, 'tls', 'selfsigned.crt'), host, String(server.ports.submissions), String(server.ports.imaps)], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `verified ${host}\n`);
    });
  }
});
