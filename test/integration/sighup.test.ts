// `postamt serve` reloads its TLS certificate on SIGHUP: a new STARTTLS session sees the new
// certificate while the process keeps running. The new files keep the old mtime, so only the signal
// (not the file watcher) can have caused the reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { ChildServer } from '../harness/child-server.ts';
import { issueServerCertificate, makeTlsFixture } from '../harness/test-ca.ts';

/** The certificate a client gets after EHLO + STARTTLS on the MX port. */
async function presentedFingerprint(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waitFor = (pattern: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(buffer)) {
          socket.removeListener('data', onData);
          resolve();
        }
      };
      const onData = (d: Buffer): void => {
        buffer += d.toString('latin1');
        check();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      check();
    });
  await waitFor(/^220 .*\r\n/m);
  socket.write('EHLO client.test\r\n');
  await waitFor(/^250 .*\r\n/m);
  buffer = '';
  socket.write('STARTTLS\r\n');
  await waitFor(/^220 .*\r\n/m);
  const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'mx.postamt.test' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  const fingerprint = secure.getPeerCertificate().fingerprint256;
  secure.destroy();
  return fingerprint;
}

test('SIGHUP reloads the TLS certificate without a restart', { timeout: 180_000 }, async () => {
  const fixture = makeTlsFixture();
  // Whole-second mtimes, so the replacement files below can carry exactly the same one.
  const mtime = Math.floor(Date.now() / 1000) - 100;
  utimesSync(fixture.certPath, mtime, mtime);
  utimesSync(fixture.keyPath, mtime, mtime);
  const server = await ChildServer.create({ extraToml: `[tls]\ncert = "${fixture.certPath}"\nkey = "${fixture.keyPath}"\n` });
  try {
    await server.start();
    const first = new X509Certificate(fixture.server.cert).fingerprint256;
    assert.equal(await presentedFingerprint(server.smtpPort), first);
    const next = issueServerCertificate(fixture.ca);
    // Written beside, given the old mtime, then renamed over: the file watcher (which compares mtimes) sees no change.
    writeFileSync(`${fixture.certPath}.new`, next.cert);
    writeFileSync(`${fixture.keyPath}.new`, next.key);
    utimesSync(`${fixture.certPath}.new`, mtime, mtime);
    utimesSync(`${fixture.keyPath}.new`, mtime, mtime);
    renameSync(`${fixture.keyPath}.new`, fixture.keyPath);
    renameSync(`${fixture.certPath}.new`, fixture.certPath);
    const second = new X509Certificate(next.cert).fingerprint256;
    server.signal('SIGHUP');
    let seen = first;
    for (let i = 0; i < 40 && seen !== second; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await presentedFingerprint(server.smtpPort);
    }
    assert.equal(seen, second, 'a new session gets the new certificate');
  } finally {
    await server.stop();
  }
});
