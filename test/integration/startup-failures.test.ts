/**
 * `postamt serve` that cannot start says why in one line naming the config key, path or listener, exits
 * 1 without a stack trace, and creates nothing (no empty postamt.db, no certificate) on the way out.
 * Runs the real CLI (bin/postamt.js) for each failure.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSelfSignedCertificate } from '../../src/transport/self-signed.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/postamt.js');
const dir = mkdtempSync(join(tmpdir(), 'postamt-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const OFF = ['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https'].map((r) => `${r} = ""`).join('\n');

/** Writes a config in its own directory and runs `postamt --config it serve`. */
function serve(name: string, options: { smtp?: string; dataDir?: string; tls?: string }): { code: number | null; stderr: string; stdout: string; home: string } {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const config = join(home, 'postamt.toml');
  writeFileSync(config, [
    'hostname = "mx.example.test"',
    `data_dir = "${options.dataDir ?? join(home, 'data')}"`,
    '[listen]', `smtp = "${options.smtp ?? '127.0.0.1:0'}"`, OFF,
    options.tls ?? '', '',
  ].join('\n'));
  const r = spawnSync(process.execPath, [BIN, '--config', config, 'serve'], { cwd: home, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout, home };
}

function assertOneLine(stderr: string, pattern: RegExp): void {
  assert.match(stderr, pattern);
  assert.equal(stderr.split('\n').filter(Boolean).length, 1, `more than one line on stderr:\n${stderr}`);
  assert.ok(!/\bat .*\(|internal error/.test(stderr), `stack trace or internal error:\n${stderr}`);
}

describe('start-up failures: one clear line, exit 1, nothing created', () => {
  test('a missing certificate names the key tls.cert and the path', () => {
    const r = serve('missing-cert', { tls: `[tls]\ncert = "${join(dir, 'nope.crt')}"\nkey = "${join(dir, 'nope.key')}"` });
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /^postamt: cannot start: tls\.cert = \S+nope\.crt: cannot read the file: no such file or directory\n$/);
    assert.ok(!existsSync(join(r.home, 'data')), 'data_dir was created');
  });

  test('a certificate and key that do not belong together are named both', () => {
    const a = makeSelfSignedCertificate('a.example.test');
    const b = makeSelfSignedCertificate('b.example.test');
    writeFileSync(join(dir, 'a.crt'), a.cert);
    writeFileSync(join(dir, 'b.key'), b.key);
    const r = serve('mismatch', { tls: `[tls]\ncert = "${join(dir, 'a.crt')}"\nkey = "${join(dir, 'b.key')}"` });
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /^postamt: cannot start: tls\.key = \S+b\.key is not the private key of tls\.cert = \S+a\.crt \(they do not match\)\n$/);
    assert.ok(!existsSync(join(r.home, 'data')));
  });

  test('ACME without agreement to the CA\'s terms, or without a listener for its challenges, names the key', () => {
    const terms = serve('acme-terms', { tls: '[acme]\nenabled = true' });
    assert.equal(terms.code, 1);
    assertOneLine(terms.stderr, /^postamt: cannot start: acme\.terms_agreed = false: read the terms of service of https:\/\/acme-v02\.api\.letsencrypt\.org\/directory and set acme\.terms_agreed = true to use it\n$/);
    assert.ok(!existsSync(join(terms.home, 'data')));
    // The http and https listeners are off in these configurations.
    const listeners = serve('acme-listeners', { tls: '[acme]\nenabled = true\nterms_agreed = true' });
    assert.equal(listeners.code, 1);
    assertOneLine(listeners.stderr, /^postamt: cannot start: acme\.challenges = \["tls-alpn-01","http-01"\]: no listener to answer them \(http-01 needs listen\.http on port 80, tls-alpn-01 listen\.https on port 443\)\n$/);
  });

  test('a port in use names the listener and its address; no postamt.db is left in data_dir', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = join(dir, 'in-use-data');
      mkdirSync(dataDir);
      const r = serve('in-use', { smtp: `127.0.0.1:${port}`, dataDir });
      assert.equal(r.code, 1);
      assertOneLine(r.stderr, new RegExp(`^postamt: cannot start: listen\\.smtp = 127\\.0\\.0\\.1:${port}: cannot listen: address already in use`));
      assert.deepEqual(readdirSync(dataDir), [], 'something was created in data_dir');
    } finally {
      blocker.close();
    }
  });

  test('a data_dir that cannot be written names the path', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const r = serve('unwritable', { dataDir: join(file, 'data') });
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /^postamt: cannot start: data_dir = \S+a-file\/data: \S+a-file is not a directory\n$/);
  });

  test('a read-only data_dir names the path', (ctx) => {
    if (process.getuid?.() === 0) return ctx.skip('root may write anywhere');
    const ro = join(dir, 'read-only');
    mkdirSync(ro, { mode: 0o500 });
    const r = serve('read-only', { dataDir: ro });
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /^postamt: cannot start: data_dir = \S+read-only: \S+read-only is not writable: permission denied\n$/);
  });
});
