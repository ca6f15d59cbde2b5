import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { silentLogger } from '../core/log.ts';
import { startHttpListener, type HttpListener } from './http-listener.ts';
import { ConnectionCounter } from './ip-limits.ts';
import { makeSelfSignedCertificate } from './self-signed.ts';
import { TlsProvider } from './tls.ts';
import { parseClientHello } from './client-hello.ts';

function connect(port: number, servername: string, alpn: string[]): Promise<{ cert: tls.PeerCertificate; protocol: string | false; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
    socket.once('secureConnect', () => resolve({ cert: socket.getPeerCertificate(), protocol: socket.alpnProtocol ?? false, socket }));
    socket.once('error', reject);
  });
}

describe('TLS-ALPN-01 answers on the https listener (RFC 8737)', () => {
  let dir: string;
  let provider: TlsProvider;
  let listener: HttpListener;
  const challenge = makeSelfSignedCertificate('mx.alpn.test');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'postamt-alpn-'));
    provider = new TlsProvider({ files: null, dataDir: dir, hostname: 'mx.alpn.test', logger: silentLogger() });
    listener = await startHttpListener({
      name: 'https', host: '127.0.0.1', port: 0, tls: provider,
      handler: (_req, res) => res.end('hello'),
      counter: new ConnectionCounter({ maxConnections: 100, maxConnectionsPerIp: 100 }),
      timeouts: { headerMs: 2000, requestMs: 2000, idleMs: 2000 },
      logger: silentLogger(),
    });
    provider.setAlpnChallenge('mx.alpn.test', challenge.cert, challenge.key);
  });
  after(async () => {
    await listener.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a validation offering acme-tls/1 gets the challenge certificate and the acme-tls/1 protocol', async () => {
    const { cert, protocol, socket } = await connect(listener.address().port, 'mx.alpn.test', ['acme-tls/1']);
    socket.destroy();
    assert.equal(protocol, 'acme-tls/1');
    assert.equal(cert.fingerprint256, new (await import('node:crypto')).X509Certificate(challenge.cert).fingerprint256);
  });

  it('an ordinary client during the challenge gets the normal certificate and its request answered', async () => {
    const { cert, socket } = await connect(listener.address().port, 'mx.alpn.test', ['http/1.1']);
    assert.notEqual(cert.fingerprint256, new (await import('node:crypto')).X509Certificate(challenge.cert).fingerprint256);
    socket.write('GET / HTTP/1.1\r\nHost: mx.alpn.test\r\nConnection: close\r\n\r\n');
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
    });
    assert.match(reply, /^HTTP\/1\.1 200[\s\S]*hello$/);
  });

  it('takes bytes that are not a ClientHello for none', () => {
    assert.equal(parseClientHello(Buffer.from([2, 0, 0, 0])), null);
    assert.equal(parseClientHello(Buffer.alloc(3)), null);
  });
});
