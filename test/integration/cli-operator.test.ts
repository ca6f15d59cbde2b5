/**
 * The command line as an operator meets it, through the real program (bin/postamt.js): --version, usage
 * errors as one `postamt:` line, no new empty store made by accident, --json on every list and show,
 * empty lists that say so, the minimum password length, and a start banner that repeats --config.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/free-port.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/postamt.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'postamt-cli-op-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

function postamt(args: string[], options: { cwd?: string; stdin?: string } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd ?? dir, input: options.stdin ?? '', encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneLine(r: Run): string {
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `not one line on stderr:\n${r.stderr}`);
  return r.stderr;
}

describe('postamt --version and usage errors', () => {
  test('--version prints the version and exits 0', () => {
    assert.deepEqual(postamt(['--version']), { code: 0, stdout: `postamt ${VERSION}\n`, stderr: '' });
  });

  test('usage errors are one line starting with "postamt:" and exit 2', () => {
    const unknown = postamt(['domian', 'list']);
    assert.equal(unknown.code, 2);
    assert.equal(oneLine(unknown), "postamt: unknown command 'domian' (Did you mean domain?); see postamt --help\n");
    const option = postamt(['domain', 'list', '--bogus']);
    assert.equal(option.code, 2);
    assert.equal(oneLine(option), "postamt: unknown option '--bogus'; see postamt --help\n");
    const missing = postamt(['domain', 'add']);
    assert.equal(missing.code, 2);
    assert.equal(oneLine(missing), "postamt: missing required argument 'domain'; see postamt --help\n");
  });
});

describe('no new empty store by accident', () => {
  test('without a configuration, domain list refuses and creates no ./data', () => {
    const cwd = join(dir, 'no-config');
    mkdirSync(cwd);
    for (const args of [['domain', 'list'], ['user', 'list'], ['queue', 'list']]) {
      const r = postamt(args, { cwd });
      assert.equal(r.code, 1);
      assert.match(oneLine(r), /^postamt: no Postamt data in \S+no-config\/data \(the built-in data_dir: no --config given and no \.\/postamt\.toml here\); give the server's configuration with --config FILE/);
      assert.equal(r.stdout, '');
    }
    assert.ok(!existsSync(join(cwd, 'data')), './data was created');
  });

  test('domain add, the first step of a setup, makes the store and says where', () => {
    const cwd = join(dir, 'first-setup');
    mkdirSync(cwd);
    const r = postamt(['domain', 'add', 'example.org'], { cwd });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'added domain example.org\n');
    assert.match(r.stderr, /^postamt: made a new data directory \S+first-setup\/data \(the built-in data_dir/);
    assert.equal(postamt(['domain', 'list'], { cwd }).stdout, 'example.org\n');
  });
});

describe('lists and shows', () => {
  let config: string;
  before(() => {
    config = join(dir, 'lists.toml');
    writeFileSync(config, `hostname = "mx.example.test"\ndata_dir = "${join(dir, 'lists-data')}"\n[auth]\nmin_password_length = 10\n`);
    assert.equal(postamt(['--config', config, 'domain', 'add', 'example.org']).code, 0);
  });
  const run = (...args: string[]): Run => postamt(['--config', config, ...args]);
  const json = (...args: string[]): unknown => {
    const r = run(...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  test('empty lists say so; --json gives []', () => {
    assert.equal(run('user', 'list').stdout, 'no users yet; add one with: postamt user add EMAIL\n');
    assert.equal(run('alias', 'list').stdout, 'no aliases\n');
    assert.equal(run('suppress', 'list').stdout, 'the suppression list is empty\n');
    assert.equal(run('queue', 'list').stdout, 'queue is empty\n');
    assert.equal(run('dkim', 'list').stdout, 'no DKIM keys; make one with: postamt dkim generate DOMAIN\n');
    for (const list of [['user', 'list'], ['alias', 'list'], ['suppress', 'list'], ['queue', 'list'], ['dkim', 'list']]) assert.deepEqual(json(...list), [], list.join(' '));
  });

  test('the minimum password length is enforced and configurable (auth.min_password_length)', () => {
    const short = run('user', 'add', 'alice@example.org', '--password-stdin');
    assert.equal(short.code, 1);
    const r = postamt(['--config', config, 'user', 'add', 'alice@example.org', '--password-stdin'], { stdin: 'nine char' });
    assert.equal(r.code, 1);
    assert.equal(oneLine(r), 'postamt: the password has 9 characters; at least 10 are required (auth.min_password_length)\n');
    assert.equal(postamt(['--config', config, 'user', 'add', 'alice@example.org', '--password-stdin'], { stdin: 'ten chars!' }).code, 0);
    assert.equal(run('message', 'list', 'alice@example.org').stdout, 'no messages in INBOX\n');
  });

  test('--json on domain list, alias list, app-password list, dkim list and queue show', () => {
    assert.deepEqual((json('domain', 'list') as { name: string }[]).map((d) => d.name), ['example.org']);
    assert.equal(run('alias', 'add', 'info@example.org', 'alice@example.org').code, 0);
    assert.deepEqual(json('alias', 'list'), [{ address: 'info@example.org', targets: ['alice@example.org'] }]);
    assert.deepEqual(json('app-password', 'list', 'alice@example.org'), []);
    assert.equal(run('app-password', 'add', 'alice@example.org', 'phone').code, 0);
    assert.deepEqual((json('app-password', 'list', 'alice@example.org') as { label: string; lastUsedAt: null }[]).map((p) => [p.label, p.lastUsedAt]), [['phone', null]]);
    assert.equal(run('dkim', 'generate', 'example.org', '--selector', 'sel1').code, 0);
    const keys = json('dkim', 'list') as { domain: string; selector: string; algorithm: string; record: string }[];
    assert.deepEqual(keys.map((k) => [k.domain, k.selector, k.algorithm]), [['example.org', 'sel1', 'rsa']]);
    assert.match(keys[0]!.record, /^sel1\._domainkey\.example\.org\. IN TXT "v=DKIM1; k=rsa; p=/);
    const missing = run('queue', 'show', 'ABC123', '--json');
    assert.equal(missing.code, 1);
    assert.equal(oneLine(missing), 'postamt: no queued message ABC123\n');
  });
});

describe('the start banner', () => {
  test('with --config, the suggested commands carry the same --config', async () => {
    const home = join(dir, 'banner');
    mkdirSync(home);
    const port = await freePort();
    const off = ['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https'].map((r) => `${r} = ""`).join('\n');
    writeFileSync(join(home, 'my.toml'), `hostname = "mx.example.test"\ndata_dir = "data"\n[listen]\nsmtp = "127.0.0.1:${port}"\n${off}\n`);
    const child = spawn(process.execPath, [BIN, '--config', 'my.toml', 'serve'], { cwd: home, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((r) => child.once('exit', r));
    let banner = '';
    try {
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no banner: ${banner}`)), 60_000);
        child.stderr!.on('data', (c: Buffer) => {
          banner += c.toString();
          if (banner.includes('Stop with Ctrl-C')) {
            clearTimeout(timer);
            done();
          }
        });
        child.once('exit', (code) => fail(new Error(`serve exited ${code} before the banner: ${banner}`)));
      });
    } finally {
      // Killed outright: this test reads the banner only (a failed start must not leave the server behind).
      child.kill('SIGKILL');
      await exited;
    }
    const absolute = join(home, 'my.toml');
    assert.ok(banner.includes(`  npx postamt --config ${absolute} domain add example.test\n`), banner);
    assert.ok(banner.includes(`  npx postamt --config ${absolute} user add alice@example.test\n`), banner);
  });
});
