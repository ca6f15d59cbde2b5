import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../store/open.ts';
import { cliHarness, type CliHarness } from './test-harness.ts';

describe('postamt command line: usage, config errors, queue and suppressions', () => {
  let cli: CliHarness;
  before(() => { cli = cliHarness(); });
  after(() => cli.cleanup());

  test('unknown commands and options are usage errors (exit 2) with a hint, no stack trace', async () => {
    const r = await cli.run(['domian', 'list']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'domian'/);
    assert.match(r.stderr, /Did you mean domain\?/);
    assert.ok(!r.stderr.includes('    at '));
    const opt = await cli.run(['domain', 'list', '--bogus']);
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /unknown option '--bogus'/);
    const extra = await cli.run(['domain', 'add', 'a.example', 'b.example']);
    assert.equal(extra.code, 2);
    const fmt = await cli.run(['--log-format', 'xml', 'domain', 'list']);
    assert.equal(fmt.code, 2);
    assert.match(fmt.stderr, /Allowed choices are json, pretty/);
  });

  test('--help prints the command groups and exits 0', async () => {
    const r = await cli.run(['--help']);
    assert.equal(r.code, 0);
    for (const group of ['domain', 'user', 'app-password', 'alias', 'mailbox', 'message', 'queue', 'suppress']) assert.match(r.stdout, new RegExp(`\\n  ${group} `));
  });

  test('a bad config file stops every command with the key and line', async () => {
    const bad = join(cli.dir, 'bad.toml');
    writeFileSync(bad, 'data_dir = "data"\n[limits]\nmessage_size = "big"\n');
    const r = await cli.run(['--config', bad, 'domain', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^postamt: bad\.toml:3: limits\.message_size: expected a size/);
    const missing = await cli.run(['--config', join(cli.dir, 'nope.toml'), 'domain', 'list']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^postamt: config file .*nope\.toml not found\n$/);
  });

  test('queue list, show, hold, release, retry and delete', async () => {
    assert.equal((await cli.run(['queue', 'list'])).stdout, 'queue is empty\n');
    const store = await openStore({ dataDir: join(cli.dir, 'data') });
    let id: string;
    try {
      id = await store.enqueue({ sender: 'alice@example.org', recipients: [{ address: 'bob@remote.example' }], origin: 'submission' }, Buffer.from('Subject: queued\r\n\r\nbody\r\n'));
    } finally {
      await store.close();
    }
    const list = await cli.run(['queue', 'list']);
    assert.match(list.stdout, new RegExp(`^${id} +\\d+ bytes .* from <alice@example\\.org>\\n +bob@remote\\.example +queued +attempts 0`));
    const json = JSON.parse((await cli.run(['queue', 'list', '--json'])).stdout) as { id: string; recipients: { state: string }[] }[];
    assert.deepEqual(json.map((m) => [m.id, m.recipients[0]!.state]), [[id, 'queued']]);
    assert.match((await cli.run(['queue', 'show', id])).stdout, /Subject: queued/);
    assert.equal((await cli.run(['queue', 'hold', id])).stdout, `held 1 recipient(s) of ${id}\n`);
    assert.match((await cli.run(['queue', 'list'])).stdout, /bob@remote\.example +held/);
    assert.equal((await cli.run(['queue', 'release', id])).stdout, `released 1 recipient(s) of ${id}\n`);
    assert.equal((await cli.run(['queue', 'retry', '--all'])).stdout, '1 recipient(s) scheduled for delivery now\n');
    const neither = await cli.run(['queue', 'retry']);
    assert.deepEqual([neither.code, neither.stderr], [2, 'postamt: give a queue id or --all\n']);
    assert.equal((await cli.run(['queue', 'delete', id])).stdout, `deleted ${id}\n`);
    const gone = await cli.run(['queue', 'show', id]);
    assert.deepEqual([gone.code, gone.stderr], [1, `postamt: no queued message ${id}\n`]);
    assert.equal((await cli.run(['queue', 'hold', 'not-an-id'])).code, 1);
  });

  test('suppress list and remove', async () => {
    const store = await openStore({ dataDir: join(cli.dir, 'data') });
    try {
      await store.addSuppression('Gone@Remote.example', '5.1.1 user unknown');
    } finally {
      await store.close();
    }
    assert.match((await cli.run(['suppress', 'list'])).stdout, /^gone@remote\.example  \S+  5\.1\.1 user unknown\n$/);
    assert.equal((await cli.run(['suppress', 'remove', 'gone@remote.example'])).stdout, 'removed gone@remote.example from the suppression list\n');
    const again = await cli.run(['suppress', 'remove', 'gone@remote.example']);
    assert.deepEqual([again.code, again.stderr], [1, 'postamt: gone@remote.example is not on the suppression list\n']);
  });
});
