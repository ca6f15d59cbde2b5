import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../store/open.ts';
import { cliHarness, type CliHarness } from './test-harness.ts';

describe('postamt roles, quota and user show', () => {
  let cli: CliHarness;
  before(async () => {
    cli = cliHarness();
    for (const d of ['example.org', 'example.net']) assert.equal((await cli.run(['domain', 'add', d])).code, 0);
  });
  after(() => cli.cleanup());

  const roles = async (address: string) => {
    const store = await openStore({ dataDir: join(cli.dir, 'data') });
    try {
      return await store.getAdminRoles((await store.getAccount(address))!.id);
    } finally {
      await store.close();
    }
  };

  test('user add --admin makes a server admin; user admin grant and revoke change the role', async () => {
    const r = await cli.run(['user', 'add', 'root@example.org', '--admin', '--password-stdin'], { stdin: 'a long password' });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'added user root@example.org (server admin)\n', '']);
    assert.deepEqual(await roles('root@example.org'), { serverAdmin: true, domains: [] });
    assert.equal((await cli.run(['user', 'add', 'ann@example.org', '--password-stdin'], { stdin: 'a long password' })).code, 0);
    assert.equal((await cli.run(['user', 'admin', 'grant', 'Ann@example.org'])).stdout, 'ann@example.org is now a server admin\n');
    const twice = await cli.run(['user', 'admin', 'grant', 'ann@example.org']);
    assert.deepEqual([twice.code, twice.stderr], [1, 'postamt: ann@example.org is already a server admin\n']);
    assert.equal((await cli.run(['user', 'admin', 'revoke', 'ann@example.org'])).stdout, 'ann@example.org is no longer a server admin\n');
    assert.deepEqual(await roles('ann@example.org'), { serverAdmin: false, domains: [] });
    const missing = await cli.run(['user', 'admin', 'grant', 'nobody@example.org']);
    assert.deepEqual([missing.code, missing.stderr], [1, 'postamt: no such user: nobody@example.org\n']);
  });

  test('domain admin add, list and remove', async () => {
    assert.equal((await cli.run(['domain', 'admin', 'add', 'example.net', 'ann@example.org'])).stdout, 'ann@example.org is now an admin of example.net\n');
    assert.deepEqual(await roles('ann@example.org'), { serverAdmin: false, domains: ['example.net'] });
    const dup = await cli.run(['domain', 'admin', 'add', 'example.net', 'ann@example.org']);
    assert.deepEqual([dup.code, dup.stderr], [1, 'postamt: ann@example.org is already an admin of example.net\n']);
    const foreign = await cli.run(['domain', 'admin', 'add', 'example.com', 'ann@example.org']);
    assert.deepEqual([foreign.code, foreign.stderr], [1, 'postamt: domain example.com is not a local domain; add it with: postamt domain add example.com\n']);
    assert.equal((await cli.run(['domain', 'admin', 'list'])).stdout, 'ann@example.org   admin of example.net\nroot@example.org  server admin\n');
    assert.deepEqual(JSON.parse((await cli.run(['domain', 'admin', 'list', 'example.net', '--json'])).stdout), [
      { address: 'ann@example.org', serverAdmin: false, domains: ['example.net'] },
      { address: 'root@example.org', serverAdmin: true, domains: [] },
    ]);
    assert.match((await cli.run(['user', 'list', 'example.org'])).stdout, /^ann@example\.org\s+enabled\s+quota 1GB \(default\)\s+admin of example\.net$/m);
    assert.equal((await cli.run(['domain', 'admin', 'remove', 'example.net', 'ann@example.org'])).stdout, 'ann@example.org is no longer an admin of example.net\n');
    const again = await cli.run(['domain', 'admin', 'remove', 'example.net', 'ann@example.org']);
    assert.deepEqual([again.code, again.stderr], [1, 'postamt: ann@example.org is not an admin of example.net\n']);
  });

  test('user quota sets, clears and refuses bad sizes; user show prints quota and usage', async () => {
    assert.equal((await cli.run(['user', 'quota', 'ann@example.org', '2GB'])).stdout, 'quota of ann@example.org: 2GB\n');
    assert.equal((await cli.run(['user', 'quota', 'ann@example.org', '0'])).stdout, 'quota of ann@example.org: unlimited\n');
    const shown = await cli.run(['user', 'show', 'ann@example.org']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^ann@example\.org  enabled  created \S+\nquota unlimited, used 0 bytes in 0 message\(s\)\n$/);
    assert.equal((await cli.run(['user', 'quota', 'ann@example.org', 'default'])).stdout, 'quota of ann@example.org: 1GB (default)\n');
    const bad = await cli.run(['user', 'quota', 'ann@example.org', 'lots']);
    assert.equal(bad.code, 2);
    const json = JSON.parse((await cli.run(['user', 'show', 'root@example.org', '--json'])).stdout) as { roles: unknown; usage: unknown };
    assert.deepEqual([json.roles, json.usage], [{ serverAdmin: true, domains: [] }, { bytes: 0, messages: 0 }]);
  });

  test('dkim rotate makes new pending keys of the signing algorithms; twice a day is refused', async () => {
    assert.equal((await cli.run(['dkim', 'generate', 'example.org', '--algorithm', 'ed25519', '--selector', 'old', '--active'])).code, 0);
    const r = await cli.run(['dkim', 'rotate', 'example.org']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^; DKIM ed25519 key \d{8}e for example\.org stored\./);
    assert.match(r.stdout, /^\d{8}e\._domainkey\.example\.org\. IN TXT "v=DKIM1; k=ed25519; p=/m);
    const list = (await cli.run(['dkim', 'list', 'example.org'])).stdout;
    assert.match(list, /^example\.org\s+\d{8}e\s+ed25519\s+\S+\s+pending$/m);
    assert.match(list, /^example\.org\s+old\s+ed25519\s+\S+\s+signing$/m);
    const again = await cli.run(['dkim', 'rotate', 'example.org']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already has a key made today/);
  });
});
