// TLS for the SMTP listeners, verified against a test CA: STARTTLS command injection (CVE-2011-0411
// class), certificate reload without dropping open sessions (reload() and the file watcher), SNI,
// TLS 1.2/1.3 only, and no second STARTTLS.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { plainClientResponse } from '../../src/protocols/sasl/client.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { issueServerCertificate, makeTlsFixture, type ServerCertificate, type TlsFixture } from '../harness/test-ca.ts';

const ALICE = 'alice@example.org';
const PASS = 'correct horse battery staple';

interface Reply {
  code: number;
  text: string;
}

/** A line client over a plain socket that can be upgraded in place; records every byte it received. */
class Client {
  private buffer = '';
  private replies: Reply[] = [];
  private wake: (() => void) | null = null;
  closed = false;
  constructor(public socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      let lines: string[] = [];
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).replace(/\r$/, '');
        this.buffer = this.buffer.slice(nl + 1);
        lines.push(line);
        if (/^\d{3}(?: |$)/.test(line)) {
          this.replies.push({ code: Number(line.slice(0, 3)), text: lines.map((l) => l.slice(4)).join('\n') });
          lines = [];
        }
      }
      this.wake?.();
    });
    const end = (): void => {
      this.closed = true;
      this.wake?.();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  static async plain(port: number): Promise<Client> {
    const socket = netConnect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Client(socket);
    assert.equal((await c.read()).code, 220);
    return c;
  }

  static async implicit(port: number, options: ConnectionOptions): Promise<Client> {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const c = new Client(socket);
    assert.equal((await c.read()).code, 220);
    return c;
  }

  /** Replaces the plain socket with TLS over it (after a 220 to STARTTLS). */
  async upgrade(options: ConnectionOptions): Promise<TLSSocket> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const secure = tlsConnect({ socket: plain as Socket, ...options });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  async read(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.shift();
      if (r) return r;
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('no reply');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Replies received but not yet read. */
  pending(): number {
    return this.replies.length + (this.buffer.length > 0 ? 1 : 0);
  }

  async command(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  close(): void {
    this.socket.destroy();
  }
}

function writeCert(fixture: TlsFixture, cert: ServerCertificate): void {
  // Key first, then certificate: a reload between the two writes fails and keeps the old pair.
  writeFileSync(fixture.keyPath, cert.key);
  writeFileSync(fixture.certPath, cert.cert);
}

async function sendOne(c: Client): Promise<Reply> {
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
      const c = await Client.plain(t.ports[role]);
      try {
        assert.equal((await c.command('EHLO client.test')).code, 250);
        c.socket.write(`STARTTLS\r\nMAIL FROM:<${ALICE}>\r\nRSET\r\n`);
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
    const c = await Client.plain(t.ports.submission);
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
    const s = await Client.implicit(t.ports.submissions, tlsOptions);
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
      const c = await Client.implicit(t.ports.submissions, { ...tlsOptions, maxVersion });
      try {
        assert.equal((c.socket as TLSSocket).getProtocol(), expected);
        assert.equal((c.socket as TLSSocket).authorized, true);
      } finally {
        c.close();
      }
    }
    const other = makeTlsFixture();
    try {
      await assert.rejects(Client.implicit(t.ports.submissions, { ca: other.ca.cert, servername: 'localhost' }), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('reload() swaps the certificate for new connections without dropping an open session', async () => {
    const auth = `AUTH PLAIN ${plainClientResponse(ALICE, PASS).toString('base64')}`;
    const old = await Client.implicit(t.ports.submissions, tlsOptions);
    const oldStarttls = await Client.plain(t.ports.submission);
    try {
      const oldFingerprint = (old.socket as TLSSocket).getPeerCertificate().fingerprint256;
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

      const fresh = await Client.implicit(t.ports.submissions, tlsOptions);
      try {
        assert.equal((fresh.socket as TLSSocket).getPeerCertificate().fingerprint256, next.fingerprint256);
      } finally {
        fresh.close();
      }
      const freshStarttls = await Client.plain(t.ports.submission);
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
      const still = await Client.implicit(t.ports.submissions, tlsOptions);
      try {
        assert.equal((still.socket as TLSSocket).getPeerCertificate().fingerprint256, next.fingerprint256);
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
    const open = await Client.implicit(t.ports.submissions, tlsOptions);
    try {
      await open.command('EHLO client.test');
      // mtime must differ from the previous write even on coarse file systems.
      await new Promise((r) => setTimeout(r, 20));
      const next = issueServerCertificate(fixture.ca);
      writeCert(fixture, next);
      const deadline = Date.now() + 8000;
      let seen = '';
      while (Date.now() < deadline) {
        const c = await Client.implicit(t.ports.submissions, tlsOptions);
        seen = (c.socket as TLSSocket).getPeerCertificate().fingerprint256;
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
      const byName = await Client.implicit(t.ports.submissions, { ca: fixture.ca.cert, servername: 'mail.other.test' });
      assert.equal((byName.socket as TLSSocket).getPeerCertificate().fingerprint256, other.fingerprint256);
      byName.close();
      const byDefault = await Client.implicit(t.ports.submissions, { ca: fixture.ca.cert, servername: 'localhost' });
      assert.equal((byDefault.socket as TLSSocket).getPeerCertificate().fingerprint256, fixture.server.fingerprint256);
      byDefault.close();
    } finally {
      await t.stop();
      rmSync(fixture.dir, { recursive: true, force: true });
    }
  });
});
