import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyPassword } from '../accounts/passwords.ts';
import { openStore } from '../store/open.ts';
import { join } from 'node:path';
import { cliHarness, type CliHarness } from './test-harness.ts';

describe('postamt domain / user / alias / app-password', () => {
  let cli: CliHarness;
  before(() => { cli = cliHarness(); });
  after(() => cli.cleanup());

  const account = async (address: string) => {
    const store = await openStore({ dataDir: join(cli.dir, 'data') });
    try { return await store.getAccount(address); } finally { await store.close(); }
  };

  test('domain add, list and the errors a user can make', async () => {
    assert.deepEqual(await cli.run(['domain', 'add', 'Example.ORG']), { code: 0, stdout: 'added domain example.org\n', stdoutBytes: Buffer.from('added domain example.org\n'), stderr: '' });
    assert.equal((await cli.run(['domain', 'add', 'example.net'])).code, 0);
    assert.equal((await cli.run(['domain', 'list'])).stdout, 'example.net\nexample.org\n');
    const dup = await cli.run(['domain', 'add', 'example.org']);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, 'postamt: domain example.org already exists\n');
    const bad = await cli.run(['domain', 'add', 'not_a domain']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^postamt: "not_a domain" is not a valid domain name/);
    const missing = await cli.run(['domain', 'remove', 'example.com']);
    assert.deepEqual([missing.code, missing.stderr], [1, 'postamt: no such domain: example.com\n']);
  });

  test('user add with --password-stdin stores a scrypt hash and SCRAM credentials, never the password', async () => {
    const r = await cli.run(['user', 'add', 'Alice@Example.org', '--password-stdin'], { stdin: 'correct horse\n' });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'added user alice@example.org\n', '']);
    const a = await account('alice@example.org');
    assert.ok(a);
    assert.ok(await verifyPassword(a.passwordHash, 'correct horse'), 'the trailing newline is not part of the password');
    assert.ok(!a.passwordHash.includes('correct horse'));
    assert.ok(a.scram && a.scram.storedKey.length > 0);
    assert.equal((await cli.run(['user', 'list'])).stdout, 'alice@example.org  enabled  quota 1GB (default)\n');
  });

  test('user add refuses a domain that is not local, with the command that fixes it', async () => {
    const r = await cli.run(['user', 'add', 'bob@example.com', '--password-stdin'], { stdin: 'pw' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'postamt: domain example.com is not a local domain; add it with: postamt domain add example.com\n');
    assert.equal(r.stdout, '');
  });

  test('user add refuses bad addresses, duplicates, empty passwords and a missing terminal', async () => {
    const bad = await cli.run(['user', 'add', 'no-at-sign', '--password-stdin'], { stdin: 'pw' });
    assert.deepEqual([bad.code, bad.stderr], [1, 'postamt: "no-at-sign" is not a valid address: expected local@domain\n']);
    const dup = await cli.run(['user', 'add', 'alice@example.org', '--password-stdin'], { stdin: 'pw' });
    assert.deepEqual([dup.code, dup.stderr], [1, 'postamt: user alice@example.org already exists\n']);
    const empty = await cli.run(['user', 'add', 'carol@example.org', '--password-stdin'], { stdin: '\n' });
    assert.deepEqual([empty.code, empty.stderr], [1, 'postamt: the password is empty\n']);
    const noTty = await cli.run(['user', 'add', 'carol@example.org']);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /no terminal to ask for the password on; pipe it in with --password-stdin/);
    const quota = await cli.run(['user', 'add', 'carol@example.org', '--password-stdin', '--quota', 'lots'], { stdin: 'pw' });
    assert.equal(quota.code, 2);
    assert.match(quota.stderr, /--quota "lots": expected a size/);
    assert.equal(await account('carol@example.org'), null, 'nothing was created');
  });

  test('user passwd, disable, enable, grant-domain, quota and remove', async () => {
    assert.equal((await cli.run(['user', 'add', 'dave@example.org', '--password-stdin', '--quota', '500MB'], { stdin: 'password one' })).code, 0);
    const before = await account('dave@example.org');
    assert.equal(before?.quotaBytes, 500 * 1024 * 1024);
    assert.equal((await cli.run(['user', 'passwd', 'dave@example.org', '--password-stdin'], { stdin: 'password two\r\n' })).code, 0);
    const changed = await account('dave@example.org');
    assert.ok(await verifyPassword(changed!.passwordHash, 'password two'));
    assert.ok(!(await verifyPassword(changed!.passwordHash, 'password one')));
    assert.equal(changed!.scram!.salt, before!.scram!.salt, 'the SCRAM salt stays, so app passwords keep working');
    assert.notEqual(changed!.scram!.storedKey, before!.scram!.storedKey);

    assert.equal((await cli.run(['user', 'disable', 'dave@example.org'])).stdout, 'disabled user dave@example.org\n');
    assert.equal((await account('dave@example.org'))!.disabled, true);
    assert.equal((await cli.run(['user', 'enable', 'dave@example.org'])).code, 0);
    assert.equal((await account('dave@example.org'))!.disabled, false);

    assert.equal((await cli.run(['user', 'grant-domain', 'dave@example.org', 'example.net'])).code, 0);
    assert.deepEqual((await account('dave@example.org'))!.sendAsDomains, ['example.net']);
    const notLocal = await cli.run(['user', 'grant-domain', 'dave@example.org', 'example.com']);
    assert.equal(notLocal.code, 1);
    assert.equal((await cli.run(['user', 'revoke-domain', 'dave@example.org', 'example.net'])).code, 0);
    assert.deepEqual((await account('dave@example.org'))!.sendAsDomains, []);

    const json = JSON.parse((await cli.run(['user', 'list', 'example.org', '--json'])).stdout) as { address: string; quotaBytes: number }[];
    assert.deepEqual(json.map((u) => [u.address, u.quotaBytes]), [['alice@example.org', 1024 ** 3], ['dave@example.org', 500 * 1024 * 1024]]);

    assert.equal((await cli.run(['user', 'remove', 'dave@example.org'])).stdout, 'removed user dave@example.org\n');
    assert.equal(await account('dave@example.org'), null);
    const gone = await cli.run(['user', 'remove', 'dave@example.org']);
    assert.deepEqual([gone.code, gone.stderr], [1, 'postamt: no such user: dave@example.org\n']);
    const pw = await cli.run(['user', 'passwd', 'nobody@example.org', '--password-stdin'], { stdin: 'x' });
    assert.deepEqual([pw.code, pw.stderr], [1, 'postamt: no such user: nobody@example.org\n']);
  });

  test('a domain with users cannot be removed', async () => {
    const r = await cli.run(['domain', 'remove', 'example.org']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'postamt: domain example.org still has 1 user(s); remove them first (postamt user list example.org)\n');
  });

  test('alias add, catch-all, list and remove', async () => {
    const r = await cli.run(['alias', 'add', 'postmaster@example.org', 'alice@example.org', 'ops@elsewhere.example']);
    assert.deepEqual([r.code, r.stdout], [0, 'postmaster@example.org -> alice@example.org, ops@elsewhere.example\n']);
    assert.equal((await cli.run(['alias', 'add', '@example.net', 'alice@example.org'])).code, 0);
    assert.equal((await cli.run(['alias', 'list'])).stdout, '@example.net -> alice@example.org\npostmaster@example.org -> alice@example.org, ops@elsewhere.example\n');
    assert.equal((await cli.run(['alias', 'list', 'example.net'])).stdout, '@example.net -> alice@example.org\n');
    const taken = await cli.run(['alias', 'add', 'alice@example.org', 'x@example.net']);
    assert.deepEqual([taken.code, taken.stderr], [1, 'postamt: alice@example.org is a user; an alias cannot have the same address\n']);
    const foreign = await cli.run(['alias', 'add', 'info@example.com', 'alice@example.org']);
    assert.match(foreign.stderr, /domain example\.com is not a local domain/);
    const noTarget = await cli.run(['alias', 'add', 'info@example.org']);
    assert.equal(noTarget.code, 2, 'a missing argument is a usage error');
    assert.match(noTarget.stderr, /missing required argument 'target'/);
    assert.equal((await cli.run(['alias', 'remove', '@example.net'])).stdout, 'removed alias @example.net\n');
    assert.equal((await cli.run(['alias', 'remove', '@example.net'])).code, 1);
  });

  test('app passwords: printed once, stored hashed with the account SCRAM salt, listed by label, revocable', async () => {
    const add = await cli.run(['app-password', 'add', 'alice@example.org', 'phone']);
    assert.equal(add.code, 0);
    const password = add.stdout.trim();
    assert.match(password, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    assert.match(add.stderr, /app password 1 \(phone\) added for alice@example\.org; it is shown only this once/);
    const store = await openStore({ dataDir: join(cli.dir, 'data') });
    try {
      const a = await store.getAccount('alice@example.org');
      const [record] = await store.listAppPasswords(a!.id);
      assert.ok(await verifyPassword(record!.passwordHash, password));
      assert.equal(record!.scram!.salt, a!.scram!.salt);
    } finally {
      await store.close();
    }
    const list = await cli.run(['app-password', 'list', 'alice@example.org']);
    assert.match(list.stdout, /^1  phone  created \S+  never used\n$/);
    assert.ok(!list.stdout.includes(password));
    const badId = await cli.run(['app-password', 'remove', 'alice@example.org', 'one']);
    assert.equal(badId.code, 1);
    assert.equal((await cli.run(['app-password', 'remove', 'alice@example.org', '1'])).stdout, 'removed app password 1 of alice@example.org\n');
    const again = await cli.run(['app-password', 'remove', 'alice@example.org', '1']);
    assert.deepEqual([again.code, again.stderr], [1, 'postamt: alice@example.org has no app password 1\n']);
    assert.equal((await cli.run(['app-password', 'list', 'alice@example.org'])).stdout, 'alice@example.org has no app passwords; make one with: postamt app-password add alice@example.org LABEL\n');
    assert.equal((await cli.run(['app-password', 'list', 'alice@example.org', '--json'])).stdout, '[]\n');
  });
});
