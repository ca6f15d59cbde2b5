// Certificates by ACME against Debian's pebble (Let's Encrypt's test CA), which really validates every
// challenge by connecting to our listeners (names resolved through the tests' DNS server): a certificate is
// obtained with TLS-ALPN-01 and served by every listener; a failed challenge is logged, retried with a growing
// backoff while the old certificate stays in use; a renewal replaces it without restart; HTTP-01 works on
// the http listener; and a server stopped in the middle of an order resumes that order when it starts again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { freePort } from '../harness/free-port.ts';
import { pebbleBinary, startPebble, type Pebble } from '../harness/pebble.ts';
import type { ConfigPatch } from '../../src/config/schema.ts';

const HOST = 'mx.postamt.test';
const skip = pebbleBinary() === null && process.env.CI !== 'true' ? 'pebble is not installed (apt-get install pebble)' : false;

interface Setup {
  dns: DnsServerHandle;
  pebble: Pebble;
  ports: { http: number; https: number };
  root: string;
}

async function setUp(): Promise<Setup> {
  const dns = await startDnsServer({ [HOST]: { A: ['127.0.0.1'] } });
  let pebble: Pebble | undefined;
  try {
    const ports = { http: await freePort(), https: await freePort() };
    pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https, dnsServer: dns.server });
    return { dns, pebble, ports, root: await pebble.rootPem() };
  } catch (err) {
    // A set-up that fails half way leaves nothing running that would keep the test process alive.
    await pebble?.stop();
    await dns.stop();
    throw err;
  }
}

function acmeConfig(setup: Setup, acme: ConfigPatch['acme']): ConfigPatch {
  return {
    listen: { http: { host: '127.0.0.1', port: setup.ports.http }, https: { host: '127.0.0.1', port: setup.ports.https } },
    acme: { enabled: true, directoryUrl: setup.pebble.directoryUrl, caFile: setup.pebble.caPath, termsAgreed: true, contact: 'admin@postamt.test', ...acme },
  } as ConfigPatch;
}

async function waitForLog(server: TestServer, event: string, after = 0, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = server.logs.slice(after).find((l) => l.event === event);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${event} log line; ACME lines: ${JSON.stringify(server.logs.filter((l) => String(l.event).startsWith('acme.')))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readLine(socket: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (pattern.test(text)) {
        socket.removeListener('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** The serial of the certificate a listener presents, verified against pebble's root for HOST. */
async function servedSerial(port: number, root: string, starttls?: 'smtp'): Promise<string> {
  let plain: net.Socket | undefined;
  if (starttls === 'smtp') {
    plain = net.connect({ host: '127.0.0.1', port });
    await readLine(plain, /^220 .*\r\n/m);
    plain.write('EHLO client.test\r\n');
    await readLine(plain, /^250 .*\r\n/m);
    plain.write('STARTTLS\r\n');
    await readLine(plain, /^220 .*\r\n/m);
  }
  const secure = tls.connect({ ...(plain ? { socket: plain } : { host: '127.0.0.1', port }), servername: HOST, ca: root });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  const serial = secure.getPeerCertificate().serialNumber.toUpperCase();
  secure.destroy();
  return serial;
}

async function everyListenerServes(server: TestServer, root: string, serial: string): Promise<void> {
  const p = server.ports;
  assert.equal(await servedSerial(p.smtp, root, 'smtp'), serial, 'SMTP STARTTLS');
  assert.equal(await servedSerial(p.submissions, root), serial, 'submissions');
  assert.equal(await servedSerial(p.imaps, root), serial, 'imaps');
  assert.equal(await servedSerial(p.pop3s, root), serial, 'pop3s');
  assert.equal(await servedSerial(p.https, root), serial, 'https');
}

const storedSerial = (server: TestServer): string => new X509Certificate(readFileSync(join(server.dataDir, 'acme/certs/host/cert.pem'))).serialNumber.toUpperCase();

describe('ACME with pebble: TLS-ALPN-01, a failed challenge, renewal', { skip }, () => {
  let setup: Setup;
  let server: TestServer;

  before(async () => {
    setup = await setUp();
    // renew_before longer than pebble's certificates live: each certificate is renewed retry_min after it came.
    server = await startTestServer({ hostname: HOST, startQueue: false, config: acmeConfig(setup, { challenges: ['tls-alpn-01'], renewBefore: 36_500 * 86_400_000, retryMin: 1500, retryMax: 60_000 }) });
  });
  after(async () => {
    await server?.stop();
    await setup?.pebble.stop();
    await setup?.dns.stop();
  });

  it('obtains a certificate for the host name, stores it privately, and every listener serves it', async () => {
    const obtained = await waitForLog(server, 'acme.certificate_obtained');
    // Break the names at once, so the renewal due retry_min later fails (checked in the next test).
    setup.dns.setRecords({});
    assert.deepEqual(obtained.names, [HOST]);
    assert.ok(server.logs.some((l) => l.event === 'acme.tls_alpn_answered' && l.name === HOST), 'pebble validated over TLS-ALPN-01');
    const serial = storedSerial(server);
    assert.equal(String(obtained.serial).toUpperCase(), serial);
    await everyListenerServes(server, setup.root, serial);
    const mode = (path: string) => statSync(join(server.dataDir, path)).mode & 0o777;
    assert.equal(mode('acme'), 0o700);
    assert.equal(mode('acme/account.key'), 0o600);
    assert.equal(mode('acme/certs/host'), 0o700);
    assert.equal(mode('acme/certs/host/key.pem'), 0o600);
    assert.equal(mode('acme/certs/host/cert.pem'), 0o600);
  });

  it('a failed challenge is reported and retried with a growing backoff; the old certificate stays in use', async () => {
    const before = storedSerial(server);
    const first = await waitForLog(server, 'acme.order_failed');
    const firstAt = server.logs.indexOf(first);
    assert.match(String((first.err as { message?: string }).message), /tls-alpn-01 challenge for mx\.postamt\.test failed/);
    assert.equal(first.failures, 1);
    assert.equal(first.retryInMs, 1500);
    assert.equal(String(first.keptCertificate).toUpperCase(), before);
    const second = await waitForLog(server, 'acme.order_failed', firstAt + 1);
    assert.equal(second.failures, 2);
    assert.equal(second.retryInMs, 3000);
    await everyListenerServes(server, setup.root, before);
    const status = JSON.parse(readFileSync(join(server.dataDir, 'acme/certs/host/status.json'), 'utf8')) as { failures: number; lastError: string };
    assert.equal(status.failures, 2);
    assert.match(status.lastError, /challenge for mx\.postamt\.test failed/);
  });

  it('renews once the name resolves again, and the listeners serve the new certificate without restart', async () => {
    const before = storedSerial(server);
    const mark = server.logs.length;
    setup.dns.setRecords({ [HOST]: { A: ['127.0.0.1'] } });
    const renewed = await waitForLog(server, 'acme.certificate_obtained', mark);
    const after = String(renewed.serial).toUpperCase();
    assert.notEqual(after, before);
    assert.equal(storedSerial(server), after);
    await everyListenerServes(server, setup.root, after);
  });
});

describe('ACME with pebble: HTTP-01, and a restart in the middle of an order', { skip }, () => {
  let setup: Setup;
  let server: TestServer | undefined;
  let dataDir: string;

  before(async () => {
    setup = await setUp();
  });
  after(async () => {
    await server?.stop();
    await setup?.pebble.stop();
    await setup?.dns.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a server stopped right after creating its order resumes that order when it starts again', async () => {
    let stopping: Promise<void> | null = null;
    let running: TestServer | null = null;
    const config = acmeConfig(setup, { challenges: ['http-01'] });
    running = await startTestServer({
      hostname: HOST, startQueue: false, keepDataDir: true, config,
      // Stopped as the order is logged, before any challenge is taken up.
      onLog: (entry) => {
        if (entry.event === 'acme.order_created' && running && !stopping) stopping = running.server.stop();
      },
    });
    dataDir = running.dataDir;
    const created = await waitForLog(running, 'acme.order_created');
    await stopping;
    assert.ok(!running.logs.some((l) => l.event === 'acme.challenge_submitted'), 'stopped before the challenge');
    const pending = JSON.parse(readFileSync(join(dataDir, 'acme/certs/host/order.json'), 'utf8')) as { url: string };
    assert.equal(pending.url, created.order);

    server = await startTestServer({ hostname: HOST, startQueue: false, dataDir, config });
    const resumed = await waitForLog(server, 'acme.order_resumed');
    assert.equal(resumed.order, created.order);
    assert.equal(resumed.status, 'pending');
    const obtained = await waitForLog(server, 'acme.certificate_obtained');
    assert.equal(obtained.order, created.order);
    assert.ok(!server.logs.some((l) => l.event === 'acme.order_created'), 'no second order');
    // HTTP-01: pebble fetched the key authorization from the http listener.
    assert.ok(server.logs.some((l) => l.event === 'http.request' && String(l.path).startsWith('/.well-known/acme-challenge/') && l.status === 200), 'answered over HTTP-01');
    await everyListenerServes(server, setup.root, storedSerial(server));
  });
});
