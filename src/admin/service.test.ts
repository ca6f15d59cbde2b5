/**
 * The administration service's permission matrix on a real store in a temp dir: a server admin (and the
 * local operator) may do everything; a domain admin only what concerns their domains; a user only their own
 * password, app passwords and mailboxes. A refused call changes nothing, and says who, what and why.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { deriveScram, passwordFunctions } from '../accounts/passwords.ts';
import { createLogger } from '../core/log.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import { CLI_PRINCIPAL, type Principal } from './access.ts';
import { AdminError, adminErrorKind } from './errors.ts';
import { createAdminService, type AdminService } from './service.ts';
import { adminSettings } from './context.ts';
import { defaultConfig } from '../config/schema.ts';

type Who = 'cli' | 'server' | 'domainA' | 'userA';
const EVERYONE: Who[] = ['cli', 'server', 'domainA', 'userA'];

interface Fixture {
  store: OpenedStore;
  admin: AdminService;
  as: Record<Who, Principal>;
  ids: { alice: number; bob: number; root: number; boss: number };
  queue: { alice: string; bob: string };
  logs: { event: string; actor?: string; action?: string; reason?: string }[];
  cleanup(): Promise<void>;
}

/**
 * a.test: root (server admin), boss (domain admin of a.test), alice (user), alias info@, a DKIM key, a queued
 * message from alice. b.test: bob, alias info@, a DKIM key, a queued message from bob. empty.test: nothing.
 */
function service(dir: string, store: OpenedStore, logs: Fixture['logs']): AdminService {
  const sink = new Writable({ write(chunk, _enc, done) { for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line)); done(); } });
  return createAdminService({
    store,
    dkimKeys: new FileDkimKeyStore({ dataDir: dir }),
    passwords: { ...passwordFunctions({ logN: 10 }), deriveScram: (p, o) => deriveScram(p, { iterations: 4096, ...o }) },
    settings: { ...adminSettings(defaultConfig({ cwd: dir })), hostname: 'mx.a.test', postmaster: '', minPasswordLength: 8, scramIterations: 4096, quotaDefault: 1 << 30, dataDir: dir },
    logger: createLogger({ destination: sink }),
  });
}

/** Made once through the service as the local operator, then copied for every case (each starts from the same state). */
async function makeTemplate(): Promise<{ dir: string; ids: Fixture['ids']; queue: Fixture['queue'] }> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-admin-template-'));
  const store = await openStore({ dataDir: dir });
  const admin = service(dir, store, []);
  for (const d of ['a.test', 'b.test', 'empty.test']) await admin.domains.add(CLI_PRINCIPAL, d);
  const add = async (address: string) => (await admin.users.add(CLI_PRINCIPAL, { address, password: 'a long password' })).id;
  const ids = { root: await add('root@a.test'), boss: await add('boss@a.test'), alice: await add('alice@a.test'), bob: await add('bob@b.test') };
  await admin.users.setServerAdmin(CLI_PRINCIPAL, 'root@a.test', true);
  await admin.domains.addAdmin(CLI_PRINCIPAL, 'a.test', 'boss@a.test');
  await admin.aliases.add(CLI_PRINCIPAL, { address: 'info@a.test', targets: ['alice@a.test'] });
  await admin.aliases.add(CLI_PRINCIPAL, { address: 'info@b.test', targets: ['bob@b.test'] });
  await admin.dkim.generate(CLI_PRINCIPAL, { domain: 'a.test', algorithm: 'ed25519', selector: 'sa' });
  await admin.dkim.generate(CLI_PRINCIPAL, { domain: 'b.test', algorithm: 'ed25519', selector: 'sb' });
  const body = (from: string) => Buffer.from(`From: <${from}>\r\nSubject: hello\r\n\r\nbody\r\n`);
  const queue = {
    alice: await store.enqueue({ sender: 'alice@a.test', recipients: [{ address: 'x@remote.test' }], origin: 'submission', submitter: 'alice@a.test' }, body('alice@a.test')),
    bob: await store.enqueue({ sender: 'bob@b.test', recipients: [{ address: 'y@remote.test' }], origin: 'submission', submitter: 'bob@b.test' }, body('bob@b.test')),
  };
  await store.addSuppression('gone@remote.test', '550 5.1.1 user unknown');
  await store.close();
  return { dir, ids, queue };
}

let template: ReturnType<typeof makeTemplate> | null = null;
after(async () => {
  if (template) rmSync((await template).dir, { recursive: true, force: true });
});

/**
 * a.test: root (server admin), boss (domain admin of a.test), alice (user), alias info@, a DKIM key, a queued
 * message from alice. b.test: bob, alias info@, a DKIM key, a queued message from bob. empty.test: nothing.
 */
async function fixture(): Promise<Fixture> {
  const { dir: from, ids, queue } = await (template ??= makeTemplate());
  const dir = mkdtempSync(join(tmpdir(), 'postamt-admin-'));
  cpSync(from, dir, { recursive: true });
  const store = await openStore({ dataDir: dir });
  const logs: Fixture['logs'] = [];
  return {
    store, admin: service(dir, store, logs), ids, queue, logs,
    as: { cli: CLI_PRINCIPAL, server: { kind: 'account', accountId: ids.root }, domainA: { kind: 'account', accountId: ids.boss }, userA: { kind: 'account', accountId: ids.alice } },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Case {
  name: string;
  allowed: Who[];
  run(f: Fixture, p: Principal): Promise<unknown>;
}

const SERVER: Who[] = ['cli', 'server'];
const DOMAIN: Who[] = ['cli', 'server', 'domainA'];

const cases: Case[] = [
  { name: 'add a domain', allowed: SERVER, run: (f, p) => f.admin.domains.add(p, 'c.test') },
  { name: 'remove a domain', allowed: SERVER, run: (f, p) => f.admin.domains.remove(p, 'empty.test') },
  { name: 'list domains', allowed: DOMAIN, run: (f, p) => f.admin.domains.list(p) },
  { name: 'name a domain admin', allowed: SERVER, run: (f, p) => f.admin.domains.addAdmin(p, 'a.test', 'alice@a.test') },
  { name: 'take a domain admin back', allowed: SERVER, run: (f, p) => f.admin.domains.removeAdmin(p, 'a.test', 'boss@a.test') },
  { name: 'list the admins of a.test', allowed: DOMAIN, run: (f, p) => f.admin.domains.listAdmins(p, 'a.test') },
  { name: 'list the admins of b.test', allowed: SERVER, run: (f, p) => f.admin.domains.listAdmins(p, 'b.test') },

  { name: 'add a user in a.test', allowed: DOMAIN, run: (f, p) => f.admin.users.add(p, { address: 'new@a.test', password: 'a long password' }) },
  { name: 'add a user in b.test', allowed: SERVER, run: (f, p) => f.admin.users.add(p, { address: 'new@b.test', password: 'a long password' }) },
  { name: 'add a server admin', allowed: SERVER, run: (f, p) => f.admin.users.add(p, { address: 'new@a.test', password: 'a long password', serverAdmin: true }) },
  { name: 'list the users of a.test', allowed: DOMAIN, run: (f, p) => f.admin.users.list(p, 'a.test') },
  { name: 'list the users of b.test', allowed: SERVER, run: (f, p) => f.admin.users.list(p, 'b.test') },
  { name: 'see their own account', allowed: EVERYONE, run: (f, p) => f.admin.users.show(p, 'alice@a.test') },
  { name: 'see an account of b.test', allowed: SERVER, run: (f, p) => f.admin.users.show(p, 'bob@b.test') },
  { name: 'set their own password', allowed: EVERYONE, run: (f, p) => f.admin.users.setPassword(p, 'alice@a.test', 'another long password', { currentPassword: 'a long password' }) },
  { name: 'set the password of a user of b.test', allowed: SERVER, run: (f, p) => f.admin.users.setPassword(p, 'bob@b.test', 'another long password') },
  { name: 'set the password of a server admin of their domain', allowed: SERVER, run: (f, p) => f.admin.users.setPassword(p, 'root@a.test', 'another long password', { currentPassword: 'a long password' }) },
  { name: 'disable a user of a.test', allowed: DOMAIN, run: (f, p) => f.admin.users.setDisabled(p, 'alice@a.test', true) },
  { name: 'disable a user of b.test', allowed: SERVER, run: (f, p) => f.admin.users.setDisabled(p, 'bob@b.test', true) },
  { name: 'set a quota in a.test', allowed: DOMAIN, run: (f, p) => f.admin.users.setQuota(p, 'alice@a.test', 1000) },
  { name: 'set a quota in b.test', allowed: SERVER, run: (f, p) => f.admin.users.setQuota(p, 'bob@b.test', 1000) },
  { name: 'remove a user of a.test', allowed: DOMAIN, run: (f, p) => f.admin.users.remove(p, 'alice@a.test') },
  { name: 'remove a user of b.test', allowed: SERVER, run: (f, p) => f.admin.users.remove(p, 'bob@b.test') },
  { name: 'remove a server admin of their domain', allowed: SERVER, run: (f, p) => f.admin.users.remove(p, 'root@a.test') },
  { name: 'let a user send as a.test', allowed: DOMAIN, run: (f, p) => f.admin.users.grantSendAs(p, 'alice@a.test', 'a.test') },
  { name: 'let a user of a.test send as b.test', allowed: SERVER, run: (f, p) => f.admin.users.grantSendAs(p, 'alice@a.test', 'b.test') },
  { name: 'make a user a server admin', allowed: SERVER, run: (f, p) => f.admin.users.setServerAdmin(p, 'alice@a.test', true) },
  { name: 'see their own mailboxes', allowed: EVERYONE, run: (f, p) => f.admin.users.mailboxes(p, 'alice@a.test') },
  { name: 'see the mailboxes of a user of b.test', allowed: SERVER, run: (f, p) => f.admin.users.mailboxes(p, 'bob@b.test') },

  { name: 'add their own app password', allowed: EVERYONE, run: (f, p) => f.admin.appPasswords.add(p, 'alice@a.test', 'phone') },
  { name: 'list their own app passwords', allowed: EVERYONE, run: (f, p) => f.admin.appPasswords.list(p, 'alice@a.test') },
  { name: 'add an app password for a user of b.test', allowed: SERVER, run: (f, p) => f.admin.appPasswords.add(p, 'bob@b.test', 'phone') },
  { name: 'list the app passwords of a user of b.test', allowed: SERVER, run: (f, p) => f.admin.appPasswords.list(p, 'bob@b.test') },
  { name: 'add an app password for another user of their domain', allowed: DOMAIN, run: (f, p) => f.admin.appPasswords.add(p, 'boss@a.test', 'phone') },

  { name: 'add an alias in a.test', allowed: DOMAIN, run: (f, p) => f.admin.aliases.add(p, { address: 'sales@a.test', targets: ['alice@a.test'] }) },
  { name: 'add a catch-all of b.test', allowed: SERVER, run: (f, p) => f.admin.aliases.add(p, { address: '@b.test', targets: ['bob@b.test'] }) },
  { name: 'forward an address of b.test', allowed: SERVER, run: (f, p) => f.admin.aliases.add(p, { address: 'fwd@b.test', targets: ['someone@remote.test'] }) },
  { name: 'remove an alias of b.test', allowed: SERVER, run: (f, p) => f.admin.aliases.remove(p, 'info@b.test') },
  { name: 'list the aliases of b.test', allowed: SERVER, run: (f, p) => f.admin.aliases.list(p, 'b.test') },
  { name: 'list aliases', allowed: DOMAIN, run: (f, p) => f.admin.aliases.list(p) },

  { name: 'make a DKIM key for a.test', allowed: DOMAIN, run: (f, p) => f.admin.dkim.generate(p, { domain: 'a.test', algorithm: 'ed25519', selector: 'new' }) },
  { name: 'make a DKIM key for b.test', allowed: SERVER, run: (f, p) => f.admin.dkim.generate(p, { domain: 'b.test', algorithm: 'ed25519', selector: 'new' }) },
  { name: 'rotate the DKIM keys of b.test', allowed: SERVER, run: (f, p) => f.admin.dkim.rotate(p, 'b.test') },
  { name: 'list the DKIM keys of b.test', allowed: SERVER, run: (f, p) => f.admin.dkim.list(p, 'b.test') },
  { name: 'activate a DKIM key of b.test', allowed: SERVER, run: (f, p) => f.admin.dkim.activate(p, 'b.test', ['sb']) },
  { name: 'retire a DKIM key of b.test', allowed: SERVER, run: (f, p) => f.admin.dkim.retire(p, 'b.test', 'sb') },
  { name: 'retire a DKIM key of a.test', allowed: DOMAIN, run: (f, p) => f.admin.dkim.retire(p, 'a.test', 'sa') },

  { name: 'list the queue', allowed: DOMAIN, run: (f, p) => f.admin.queue.list(p) },
  { name: 'see a message queued from a.test', allowed: DOMAIN, run: (f, p) => f.admin.queue.show(p, f.queue.alice) },
  { name: 'see a message queued from b.test', allowed: SERVER, run: (f, p) => f.admin.queue.show(p, f.queue.bob) },
  { name: 'hold a message queued from b.test', allowed: SERVER, run: (f, p) => f.admin.queue.act(p, 'hold', f.queue.bob) },
  { name: 'delete a message queued from b.test', allowed: SERVER, run: (f, p) => f.admin.queue.act(p, 'delete', f.queue.bob) },
  { name: 'retry a message queued from b.test', allowed: SERVER, run: (f, p) => f.admin.queue.retry(p, f.queue.bob) },
  { name: 'bounce a message queued from b.test', allowed: SERVER, run: (f, p) => f.admin.queue.bounce(p, f.queue.bob) },
  { name: 'hold a message queued from a.test', allowed: DOMAIN, run: (f, p) => f.admin.queue.act(p, 'hold', f.queue.alice) },
  { name: 'retry every message', allowed: DOMAIN, run: (f, p) => f.admin.queue.retry(p, 'all') },

  { name: 'see the suppression list', allowed: SERVER, run: (f, p) => f.admin.suppressions.list(p) },
  { name: 'remove a suppression', allowed: SERVER, run: (f, p) => f.admin.suppressions.remove(p, 'gone@remote.test') },
];

describe('administration service: permission matrix', () => {
  for (const c of cases) {
    test(`${c.name}: ${c.allowed.join(', ')} may; ${EVERYONE.filter((w) => !c.allowed.includes(w)).join(', ') || 'nobody else'} may not`, async () => {
      for (const who of EVERYONE) {
        const f = await fixture();
        try {
          if (c.allowed.includes(who)) {
            await c.run(f, f.as[who]);
          } else {
            await assert.rejects(c.run(f, f.as[who]), (err) => adminErrorKind(err) === 'forbidden', `${who} must be refused`);
            const denied = f.logs.find((l) => l.event === 'admin.denied');
            assert.ok(denied?.actor && denied.action && denied.reason, `${who}: the refusal is logged with who, what and why`);
          }
        } finally {
          await f.cleanup();
        }
      }
    });
  }
});

describe('administration service: what a domain admin sees', () => {
  test('lists hold only their domains: domains, users, aliases, DKIM keys, queued mail, admins', async () => {
    const f = await fixture();
    try {
      const p = f.as.domainA;
      assert.deepEqual((await f.admin.domains.list(p)).map((d) => d.name), ['a.test']);
      assert.deepEqual((await f.admin.users.list(p)).map((u) => u.address), ['alice@a.test', 'boss@a.test', 'root@a.test']);
      assert.deepEqual((await f.admin.aliases.list(p)).map((a) => a.address), ['info@a.test']);
      assert.deepEqual((await f.admin.dkim.list(p)).map((k) => `${k.domain}/${k.selector}`), ['a.test/sa']);
      assert.deepEqual((await f.admin.queue.list(p)).map((m) => m.id), [f.queue.alice]);
      assert.equal(await f.admin.queue.retry(p, 'all'), 1, 'only the message from their domain');
      // The request is recorded with the recipients it retried, so a runner in any process lifts their destinations' backoff.
      assert.ok((await f.store.getQueueMessage(f.queue.alice))!.recipients.every((r) => r.retryRequestedAt !== null));
      assert.ok((await f.store.getQueueMessage(f.queue.bob))!.recipients.every((r) => r.retryRequestedAt === null));
      assert.deepEqual(await f.admin.domains.listAdmins(p), [{ address: 'boss@a.test', serverAdmin: false, domains: ['a.test'] }]);
      const server = await f.admin.users.list(f.as.server);
      assert.equal(server.length, 4);
      assert.deepEqual(server.find((u) => u.address === 'root@a.test')!.roles, { serverAdmin: true, domains: [] });
    } finally {
      await f.cleanup();
    }
  });

  test('a refused call changes nothing and names who, what and why', async () => {
    const f = await fixture();
    try {
      const before = await f.store.getAccount('bob@b.test');
      const err = await f.admin.users.setPassword(f.as.domainA, 'bob@b.test', 'another long password').catch((e: unknown) => e);
      assert.ok(err instanceof AdminError);
      assert.equal(err.kind, 'forbidden');
      assert.equal(err.message, 'boss@a.test may not set the password of bob@b.test: not an admin of b.test');
      assert.equal((await f.store.getAccount('bob@b.test'))!.passwordHash, before!.passwordHash);
      assert.deepEqual(f.logs.filter((l) => l.event === 'admin.denied').map((l) => [l.actor, l.action, l.reason]), [['boss@a.test', 'set the password of bob@b.test', 'not an admin of b.test']]);
      // Another domain's accounts are not even looked up: an unknown address there is refused the same way.
      await assert.rejects(f.admin.users.show(f.as.domainA, 'nobody@b.test'), /boss@a\.test may not see user nobody@b\.test: not an admin of b\.test/);
      const user = await f.admin.users.list(f.as.userA).catch((e: unknown) => e);
      assert.ok(user instanceof AdminError);
      assert.equal(user.message, 'alice@a.test may not list users: not an admin');
    } finally {
      await f.cleanup();
    }
  });

  test('a domain admin cannot raise anyone above themselves, nor act on an admin of a domain they do not hold', async () => {
    const f = await fixture();
    try {
      await f.store.addDomainAdmin(f.ids.alice, 'b.test');
      await assert.rejects(f.admin.users.setPassword(f.as.domainA, 'alice@a.test', 'another long password'), /boss@a\.test may not set the password of alice@a\.test: alice@a\.test is an admin of b\.test/);
      await assert.rejects(f.admin.appPasswords.add(f.as.domainA, 'alice@a.test', 'x'), /alice@a\.test is an admin of b\.test/);
      await assert.rejects(f.admin.users.add(f.as.domainA, { address: 'x@a.test', password: 'a long password', serverAdmin: true }), /only a server admin may/);
      assert.equal(await f.store.getAccount('x@a.test'), null);
    } finally {
      await f.cleanup();
    }
  });

  test('an account changes its own password only with its current one; an admin resets it without', async () => {
    const f = await fixture();
    try {
      const before = (await f.store.getAccount('alice@a.test'))!.passwordHash;
      await assert.rejects(f.admin.users.setPassword(f.as.userA, 'alice@a.test', 'another long password'), /alice@a\.test may not set the password of alice@a\.test: the current password was not given or is wrong/);
      await assert.rejects(f.admin.users.setPassword(f.as.userA, 'alice@a.test', 'another long password', { currentPassword: 'a wrong password' }), (err) => adminErrorKind(err) === 'forbidden');
      assert.equal((await f.store.getAccount('alice@a.test'))!.passwordHash, before);
      await f.admin.users.setPassword(f.as.userA, 'alice@a.test', 'another long password', { currentPassword: 'a long password' });
      await f.admin.users.setPassword(f.as.domainA, 'alice@a.test', 'a third long password');
      await assert.rejects(f.admin.users.setPassword(f.as.server, 'root@a.test', 'another long password'), /the current password was not given/);
      await assert.rejects(f.admin.users.setPassword(f.as.cli, 'alice@a.test', 'short'), /at least 8 are required/);
    } finally {
      await f.cleanup();
    }
  });

  test('a revoked role and a disabled account stop at the next call', async () => {
    const f = await fixture();
    try {
      await f.admin.users.list(f.as.domainA, 'a.test');
      await f.admin.domains.removeAdmin(f.as.server, 'a.test', 'boss@a.test');
      await assert.rejects(f.admin.users.list(f.as.domainA, 'a.test'), /boss@a\.test may not list the users of a\.test: not an admin/);
      await f.admin.users.setDisabled(f.as.cli, 'root@a.test', true);
      await assert.rejects(f.admin.domains.list(f.as.server), /root@a\.test may not administer anything: the account is disabled/);
      await f.admin.users.remove(f.as.cli, 'alice@a.test');
      await assert.rejects(f.admin.users.show(f.as.userA, 'alice@a.test'), (err) => adminErrorKind(err) === 'forbidden');
    } finally {
      await f.cleanup();
    }
  });
});
