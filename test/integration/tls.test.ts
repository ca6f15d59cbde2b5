// TLS for the SMTP listeners, verified against a test CA: STARTTLS command injection (CVE-2011-0411
// class), certificate reload without dropping open sessions (reload() and the file watcher), SNI,
// TLS 1.2/1.3 only, and no second STARTTLS.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { plainClientResponse } from '../../src/protocols/sasl/client.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp, type SmtpReply } from '../harness/smtp-raw.ts';
import { issueServerCertificate, makeTlsFixture, type ServerCertificate, type TlsFixture } from '../harness/test-ca.ts';

const ALICE = 'alice@example.org';
const PASS = 'correct horse battery staple';

/** A plain connection whose greeting was 220. */
async function plain(port: number): Promise<RawSmtp> {
  const { client, greeting } = await RawSmtp.connect(port);
  assert.equal(greeting.code, 220);
  return client;
}

/** An implicit-TLS connection whose greeting was 220. */
async function implicit(port: number, tls: ConnectionOptions): Promise<RawSmtp> {
  const { client, greeting } = await RawSmtp.connectTls(port, tls);
  assert.equal(greeting.code, 220);
  return client;
}

function writeCert(fixture: TlsFixture, cert: ServerCertificate): void {
  // Key first, then certificate: a reload between the two writes fails and keeps the old pair.
  writeFileSync(fixture.keyPath, cert.key);
  writeFileSync(fixture.certPath, cert.cert);
}

async function sendOne(c: RawSmtp): Promise<SmtpReply> {
  for (const line of [`MAIL FROM:<${ALICE}>`, `RCPT TO:<${ALICE}>`]) {
    const r = await c.command(line);
    if (r.code !== 250) return r;
  }
  assert.equal((await c.command('DATA')).code, 354);
  return c.command(`From: ${ALICE}\r\nSubject: still here\r\n\r\nbody\r\n.`);
}

describe('TLS on the SMTP listeners', () => {
  let t: TestServer;
  let fixture: TlsFixture;
  let tlsOptions: ConnectionOptions;
  before(async () => {
    fixture = makeTlsFixture();
    tlsOptions = { ca: fixture.ca.cert, servername: 'localhost' };
    t = await startTestServer({ startQueue: false, config: { tls: { cert: fixture.certPath, key: fixture.keyPath } } });
    await t.addUser(ALICE, PASS);
  });
  after(async () => {
    await t?.stop();
    rmSync(fixture.dir, { recursive: true, force: true });
  });

  for (const role of ['submission', 'smtp'] as const) {
    it(`${role}: commands pipelined after STARTTLS in the same packet are discarded (CVE-2011-0411)`, async () => {
      const c = await plain(t.ports[role]);
      try {
        assert.equal((await c.command('EHLO client.test')).code, 250);
        c.write(`STARTTLS\r\nMAIL FROM:<${ALICE}>\r\nRSET\r\n`);
        const ready = await c.read();
        assert.equal(ready.code, 220);
        // Nothing else in the clear: any stray reply would have broken the handshake or be queued here.
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(c.pending(), 0);
        await c.upgrade(tlsOptions);
        const ehlo = await c.command('EHLO client.test');
        assert.equal(ehlo.code, 250, ehlo.text);
        assert.match(ehlo.text, /^[\w.-]+ /);
        const noop = await c.command('NOOP');
        assert.equal(noop.code, 250);
        assert.match(noop.text, /^2\.0\.0 /);
        assert.equal(c.pending(), 0);
        // The injected MAIL was not executed: after AUTH a RCPT without MAIL is a sequence error.
        if (role === 'submission') assert.equal((await c.command(`AUTH PLAIN ${plainClientResponse(ALICE, PASS).toString('base64')}`)).code, 235);
        const rcpt = await c.command(`RCPT TO:<${ALICE}>`);
        assert.equal(rcpt.code, 503, rcpt.text);
      } finally {
        c.close();
      }
    });
  }

  it('refuses a second STARTTLS, and STARTTLS on implicit TLS', async () => {
    const c = await plain(t.ports.submission);
    try {
      await c.command('EHLO client.test');
      assert.equal((await c.command('STARTTLS')).code, 220);
      await c.upgrade(tlsOptions);
      await c.command('EHLO client.test');
      const again = await c.command('STARTTLS');
      assert.equal(again.code, 503, again.text);
    } finally {
      c.close();
    }
    const s = await implicit(t.ports.submissions, tlsOptions);
    try {
      const ehlo = await s.command('EHLO client.test');
      assert.doesNotMatch(ehlo.text, /STARTTLS/);
      assert.equal((await s.command('STARTTLS')).code, 503);
    } finally {
      s.close();
    }
  });

  it('speaks TLS 1.3 and 1.2, verified against the CA; an unknown CA fails verification', async () => {
    for (const [maxVersion, expected] of [['TLSv1.3', 'TLSv1.3'], ['TLSv1.2', 'TLSv1.2']] as const) {
      const c = await implicit(t.ports.submissions, { ...tlsOptions, maxVersion });
      try {
        assert.equal(c.tls.getProtocol(), expected);
        assert.equal(c.tls.authorized, true);
      } finally {
        c.close();
      }
    }
    const other = makeTlsFixture();
    try {
      await assert.rejects(implicit(t.ports.submissions, { ca: other.ca.cert, servername: 'localhost' }), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('reload() swaps the certificate for new connections without dropping an open session', async () => {
    const auth = `AUTH PLAIN ${plainClientResponse(ALICE, PASS).toString('base64')}`;
    const old = await implicit(t.ports.submissions, tlsOptions);
    const oldStarttls = await plain(t.ports.submission);
    try {
      const oldFingerprint = old.tls.getPeerCertificate().fingerprint256;
      assert.equal(oldFingerprint, fixture.server.fingerprint256);
      await old.command('EHLO client.test');
      assert.equal((await old.command(auth)).code, 235);
      await oldStarttls.command('EHLO client.test');
      assert.equal((await oldStarttls.command('STARTTLS')).code, 220);
      await oldStarttls.upgrade(tlsOptions);
      await oldStarttls.command('EHLO client.test');

      const next = issueServerCertificate(fixture.ca);
      writeCert(fixture, next);
      assert.equal(t.server.services.tls.reload(), true);
      assert.ok(t.logs.some((l) => l.event === 'tls.reloaded'));

      const fresh = await implicit(t.ports.submissions, tlsOptions);
      try {
        assert.equal(fresh.tls.getPeerCertificate().fingerprint256, next.fingerprint256);
      } finally {
        fresh.close();
      }
      const freshStarttls = await plain(t.ports.submission);
      try {
        await freshStarttls.command('EHLO client.test');
        assert.equal((await freshStarttls.command('STARTTLS')).code, 220);
        const secure = await freshStarttls.upgrade(tlsOptions);
        assert.equal(secure.getPeerCertificate().fingerprint256, next.fingerprint256);
      } finally {
        freshStarttls.close();
      }
      // The sessions opened before the reload go on working.
      assert.equal((await sendOne(old)).code, 250);
      assert.equal((await oldStarttls.command(auth)).code, 235);
      assert.equal((await sendOne(oldStarttls)).code, 250);

      // A broken file is not loaded: the previous certificate stays in use.
      writeFileSync(fixture.certPath, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
      assert.equal(t.server.services.tls.reload(), false);
      const still = await implicit(t.ports.submissions, tlsOptions);
      try {
        assert.equal(still.tls.getPeerCertificate().fingerprint256, next.fingerprint256);
      } finally {
        still.close();
      }
      writeCert(fixture, next);
    } finally {
      old.close();
      oldStarttls.close();
    }
  });

  it('the file watcher picks up new certificate files within a few seconds', async () => {
    const open = await implicit(t.ports.submissions, tlsOptions);
    try {
      await open.command('EHLO client.test');
      // mtime must differ from the previous write even on coarse file systems.
      await new Promise((r) => setTimeout(r, 20));
      const next = issueServerCertificate(fixture.ca);
      writeCert(fixture, next);
      const deadline = Date.now() + 8000;
      let seen = '';
      while (Date.now() < deadline) {
        const c = await implicit(t.ports.submissions, tlsOptions);
        seen = c.tls.getPeerCertificate().fingerprint256;
        c.close();
        if (seen === next.fingerprint256) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(seen, next.fingerprint256);
      assert.equal((await open.command('NOOP')).code, 250);
    } finally {
      open.close();
    }
  });
});

describe('TLS: certificates chosen by SNI', () => {
  it('serves the per-domain certificate for its name and the default one otherwise', async () => {
    const fixture = makeTlsFixture();
    const other = issueServerCertificate(fixture.ca, { dnsNames: ['mail.other.test'], ips: [] });
    const otherCert = join(fixture.dir, 'other.crt');
    const otherKey = join(fixture.dir, 'other.key');
    writeFileSync(otherCert, other.cert);
    writeFileSync(otherKey, other.key);
    const t = await startTestServer({ config: { tls: { cert: fixture.certPath, key: fixture.keyPath, sni: { 'mail.other.test': { cert: otherCert, key: otherKey } } } } });
    try {
      const byName = await implicit(t.ports.submissions, { ca: fixture.ca.cert, servername: 'mail.other.test' });
      assert.equal(byName.tls.getPeerCertificate().fingerprint256, other.fingerprint256);
      byName.close();
      const byDefault = await implicit(t.ports.submissions, { ca: fixture.ca.cert, servername: 'localhost' });
      assert.equal(byDefault.tls.getPeerCertificate().fingerprint256, fixture.server.fingerprint256);
      byDefault.close();
    } finally {
      await t.stop();
      rmSync(fixture.dir, { recursive: true, force: true });
    }
  });
});
