/**
 * Recipient resolution: disabled accounts still receive, role addresses (postmaster@, abuse@) exist in every
 * local domain, and a loop or a cut-off expansion is reported as undeliverable instead of resolving to nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountRecord, AliasRecord } from '../store/types.ts';
import { MAX_TARGETS, RecipientResolver, type RecipientDirectory } from './recipients.ts';

function directory(options: { domains: string[]; accounts: { address: string; disabled?: boolean }[]; aliases: Record<string, string[]> }): RecipientDirectory {
  const accounts = options.accounts.map((a, i): AccountRecord => ({
    id: i + 1, address: a.address, passwordHash: '', scram: null, disabled: a.disabled ?? false, quotaBytes: null, sendAsDomains: [], createdAt: new Date(1_000_000 + i),
  }));
  return {
    hasDomain: async (d) => options.domains.includes(d),
    getAccount: async (a) => accounts.find((x) => x.address === a) ?? null,
    getAlias: async (a): Promise<AliasRecord | null> => (options.aliases[a] ? { address: a, targets: options.aliases[a]!, createdAt: new Date() } : null),
    listAccounts: async () => [...accounts].reverse(),
  };
}

test('a disabled account still resolves to its mailbox, directly and through the catch-all', async () => {
  const r = new RecipientResolver({ accounts: directory({ domains: ['d.test'], accounts: [{ address: 'off@d.test', disabled: true }], aliases: { '@d.test': ['off@d.test'] } }) });
  assert.deepEqual(await r.resolve('off@d.test'), { kind: 'local', targets: [{ kind: 'mailbox', accountId: 1, address: 'off@d.test' }] });
  assert.deepEqual(await r.resolve('anyone@d.test'), { kind: 'local', targets: [{ kind: 'mailbox', accountId: 1, address: 'off@d.test' }] });
});

test('an alias loop with no other target is undeliverable (loop), not a local recipient with no targets', async () => {
  const r = new RecipientResolver({ accounts: directory({ domains: ['d.test'], accounts: [], aliases: { 'loop1@d.test': ['loop2@d.test'], 'loop2@d.test': ['loop1@d.test'] } }) });
  assert.deepEqual(await r.resolve('loop1@d.test'), { kind: 'undeliverable', problem: 'loop' });
});

test('a catch-all that points into its own domain at nobody is a loop', async () => {
  const r = new RecipientResolver({ accounts: directory({ domains: ['d.test'], accounts: [], aliases: { '@d.test': ['ghost@d.test'] } }) });
  assert.deepEqual(await r.resolve('x@d.test'), { kind: 'undeliverable', problem: 'loop' });
});

test('a loop that also reaches a mailbox delivers to the mailbox; an alias to nobody is no-target', async () => {
  const r = new RecipientResolver({ accounts: directory({ domains: ['d.test'], accounts: [{ address: 'me@d.test' }], aliases: { 'a@d.test': ['b@d.test', 'me@d.test'], 'b@d.test': ['a@d.test'], 'dead@d.test': ['ghost@d.test'] } }) });
  assert.deepEqual(await r.resolve('a@d.test'), { kind: 'local', targets: [{ kind: 'mailbox', accountId: 1, address: 'me@d.test' }] });
  assert.deepEqual(await r.resolve('dead@d.test'), { kind: 'undeliverable', problem: 'no-target' });
});

test('a chain deeper than the limit, or too many targets, is undeliverable rather than cut short', async () => {
  const aliases: Record<string, string[]> = {};
  for (let i = 0; i < 12; i++) aliases[`c${i}@d.test`] = [`c${i + 1}@d.test`];
  aliases['c12@d.test'] = ['me@d.test'];
  aliases['big@d.test'] = Array.from({ length: MAX_TARGETS + 1 }, (_, i) => `r${i}@remote.test`);
  const r = new RecipientResolver({ accounts: directory({ domains: ['d.test'], accounts: [{ address: 'me@d.test' }], aliases }) });
  assert.deepEqual(await r.resolve('c0@d.test'), { kind: 'undeliverable', problem: 'too-deep' });
  assert.deepEqual(await r.resolve('big@d.test'), { kind: 'undeliverable', problem: 'too-many-targets' });
  assert.equal((await r.resolve('c5@d.test')).kind, 'local');
});

test('postmaster@ and abuse@ of every local domain and of our host name go to the oldest account by default', async () => {
  const dir = directory({ domains: ['d.test', 'e.test'], accounts: [{ address: 'first@d.test' }, { address: 'second@e.test' }], aliases: { '@e.test': ['second@e.test'] } });
  const r = new RecipientResolver({ accounts: dir, hostname: 'mx.host.test' });
  const first = { kind: 'local', targets: [{ kind: 'mailbox', accountId: 1, address: 'first@d.test' }] };
  for (const a of ['postmaster@d.test', 'PostMaster@e.test', 'abuse@e.test', 'postmaster@mx.host.test', 'Abuse@MX.host.test']) assert.deepEqual(await r.resolve(a), first, a);
  assert.deepEqual(await r.resolve('postmaster@elsewhere.test'), { kind: 'not-local' }, 'never a relay');
  assert.deepEqual(await r.resolve('other@mx.host.test'), { kind: 'not-local' });
});

test('a configured postmaster address is used; an account or alias named postmaster takes precedence', async () => {
  const dir = directory({ domains: ['d.test', 'e.test'], accounts: [{ address: 'first@d.test' }, { address: 'boss@d.test' }, { address: 'postmaster@e.test' }], aliases: { 'abuse@d.test': ['first@d.test'] } });
  const r = new RecipientResolver({ accounts: dir, hostname: 'mx.host.test', postmaster: 'boss@d.test' });
  assert.deepEqual(await r.resolve('postmaster@d.test'), { kind: 'local', targets: [{ kind: 'mailbox', accountId: 2, address: 'boss@d.test' }] });
  assert.deepEqual(await r.resolve('abuse@d.test'), { kind: 'local', targets: [{ kind: 'mailbox', accountId: 1, address: 'first@d.test' }] });
  assert.deepEqual(await r.resolve('postmaster@e.test'), { kind: 'local', targets: [{ kind: 'mailbox', accountId: 3, address: 'postmaster@e.test' }] });
  const remote = new RecipientResolver({ accounts: dir, postmaster: 'admin@remote.test' });
  assert.deepEqual(await remote.resolve('abuse@e.test'), { kind: 'local', targets: [{ kind: 'remote', address: 'admin@remote.test' }] });
});

test('checkAlias sees a loop the new alias would close, including through a catch-all, and targets that name nobody', async () => {
  const dir = directory({ domains: ['d.test'], accounts: [{ address: 'me@d.test' }], aliases: { 'loop1@d.test': ['loop2@d.test'], 'x@d.test': ['me@d.test'] } });
  const r = new RecipientResolver({ accounts: dir, domainCacheMs: 0 });
  assert.equal((await r.checkAlias('loop2@d.test', ['loop1@d.test'])).problem, 'loop');
  assert.equal((await r.checkAlias('@d.test', ['nobody@d.test'])).problem, 'loop');
  assert.deepEqual(await r.checkAlias('@d.test', ['me@d.test']), { problem: null, deadTargets: [] });
  assert.deepEqual(await r.checkAlias('y@d.test', ['x@d.test', 'friend@remote.test']), { problem: null, deadTargets: [] });
  assert.deepEqual(await r.checkAlias('team@d.test', ['me@d.test', 'typo@d.test']), { problem: null, deadTargets: ['typo@d.test'] });
});
