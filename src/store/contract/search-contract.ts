/**
 * The contract of the search index every backend must pass: documents written once per email, found only
 * by their own account, text terms as exact substrings (wildcard characters of SQL and GLOB are plain text),
 * and documents of removed emails pruned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchDocument, Store } from '../types.ts';
import type { FreshStore } from './store-contract.ts';

export function runSearchIndexContract(name: string, openFresh: () => Promise<FreshStore>): void {
  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const { store, cleanup } = await openFresh();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  }

  async function setup(store: Store) {
    await store.addDomain('example.test');
    const alice = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
    const bob = await store.addAccount({ address: 'bob@example.test', passwordHash: 'x', scram: null });
    const deliver = async (accountId: number, subject: string) => {
      const inbox = (await store.getMailbox(accountId, 'INBOX'))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`));
      return (await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!;
    };
    const doc = (emailId: number, accountId: number, texts: Partial<SearchDocument>): SearchDocument => ({
      emailId, accountId, from: '', to: '', cc: '', bcc: '', subject: '', body: '', headers: [], hasAttachment: false, summary: '{}', ...texts,
    });
    return { alice, bob, deliver, doc };
  }

  test(`${name}: new emails are listed as unindexed until their documents are written, once`, () =>
    withStore(async (store) => {
      const { alice, bob, deliver, doc } = await setup(store);
      const a = await deliver(alice.id, 'one');
      const b = await deliver(bob.id, 'two');
      assert.deepEqual(await store.unindexedEmails({ afterEmailId: 0, limit: 10 }), [{ emailId: a.emailId, accountId: alice.id }, { emailId: b.emailId, accountId: bob.id }]);
      assert.deepEqual(await store.unindexedEmails({ afterEmailId: a.emailId, limit: 10 }), [{ emailId: b.emailId, accountId: bob.id }]);
      assert.equal((await store.unindexedEmails({ afterEmailId: 0, limit: 1 })).length, 1);
      await store.writeSearchDocuments([doc(a.emailId, alice.id, { subject: 'one', summary: '{"subject":"One"}' })]);
      // Written again (a second process indexing the same email): the first document stays.
      await store.writeSearchDocuments([doc(a.emailId, alice.id, { subject: 'other', summary: '{"subject":"Other"}' })]);
      assert.deepEqual(await store.unindexedEmails({ afterEmailId: 0, limit: 10 }), [{ emailId: b.emailId, accountId: bob.id }]);
      assert.deepEqual([...(await store.emailSummaries(alice.id, [a.emailId, b.emailId]))], [[a.emailId, '{"subject":"One"}']]);
      // Another account's email reads as not indexed.
      assert.equal((await store.emailSummaries(bob.id, [a.emailId])).size, 0);
    }));

  test(`${name}: text terms are exact substrings of the stored texts, per account, whatever the characters`, () =>
    withStore(async (store) => {
      const { alice, bob, deliver, doc } = await setup(store);
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) ids.push((await deliver(alice.id, `m${i}`)).emailId);
      const other = (await deliver(bob.id, 'b')).emailId;
      await store.writeSearchDocuments([
        doc(ids[0]!, alice.id, { subject: 'quarterly report 100% done', from: '[{"name":"ann","email":"ann@example.test"}]' }),
        doc(ids[1]!, alice.id, { subject: 'under_score and back\\slash', body: 'a*b?c[d]e "quoted"' }),
        doc(ids[2]!, alice.id, { body: 'grüße aus köln\nzweite zeile', hasAttachment: true, headers: [['x-list', 'team <team.example.test>'], ['subject', 'x']] }),
        doc(ids[3]!, alice.id, { to: '[{"name":null,"email":"bob@example.test"}]', subject: 'ab' }),
        doc(ids[4]!, alice.id, { subject: '' }),
        doc(other, bob.id, { subject: 'quarterly report 100% done' }),
      ]);
      const find = async (...terms: Parameters<Store['searchEmails']>[1]) => {
        const r = await store.searchEmails(alice.id, terms);
        return r.matches.map((m) => [...m].sort((x, y) => x - y));
      };
      const r = await store.searchEmails(alice.id, []);
      assert.deepEqual(r.unindexed, [ids[5]], 'the sixth email is not indexed; bob\'s is not alice\'s');
      // The index rows of just the candidates a search found, of the account only, newest first.
      const inbox = (await store.getMailbox(alice.id, 'INBOX'))!.id;
      assert.deepEqual((await store.listEmailIndex(alice.id, { ids: [ids[1]!, ids[3]!, other] })).map((row) => row.id), [ids[3], ids[1]]);
      assert.deepEqual((await store.listEmailIndex(alice.id, { mailboxId: inbox, ids: [ids[2]!] })).map((row) => [row.id, row.mailboxIds]), [[ids[2], [inbox]]]);
      assert.deepEqual(await store.listEmailIndex(alice.id, { ids: [] }), []);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'report' }), [[ids[0]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: '100%' }), [[ids[0]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: '0% d' }), [[ids[0]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: '%' }), [[ids[0]]], 'LIKE wildcard is text');
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'report_100' }), [[]], 'LIKE _ is text');
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'under_score' }), [[ids[1]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'back\\slash' }), [[ids[1]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['body'], value: 'b?c[d]' }), [[ids[1]]], 'GLOB wildcards are text');
      assert.deepEqual(await find({ kind: 'text', fields: ['body'], value: 'a?b' }), [[]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['body'], value: '"quoted"' }), [[ids[1]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['body'], value: 'grüße aus' }), [[ids[2]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['body'], value: 'köln\nzweite' }), [[ids[2]]], 'across a line break');
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'ab' }), [[ids[3]]], 'two characters: below the trigram length');
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'b' }), [[ids[1], ids[3]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: '' }), [ids.slice(0, 5)], 'the empty string is in every text');
      assert.deepEqual(await find({ kind: 'text', fields: ['from', 'to', 'cc', 'bcc', 'subject', 'body'], value: 'example.test' }), [[ids[0], ids[3]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['from', 'subject'], value: 'ann@' }), [[ids[0]]]);
      assert.deepEqual(await find({ kind: 'text', fields: ['subject'], value: 'nul\0' }), [[]]);
      assert.deepEqual(await find({ kind: 'header', name: 'x-list', value: null }), [[ids[2]]]);
      assert.deepEqual(await find({ kind: 'header', name: 'x-list', value: 'team.example' }), [[ids[2]]]);
      assert.deepEqual(await find({ kind: 'header', name: 'x-list', value: 'nobody' }), [[]]);
      assert.deepEqual(await find({ kind: 'header', name: 'subject', value: 'team' }), [[]], 'the value of that field only');
      assert.deepEqual(await find({ kind: 'hasAttachment', value: true }, { kind: 'hasAttachment', value: false }), [[ids[2]], [ids[0], ids[1], ids[3], ids[4]]]);
      assert.deepEqual((await store.searchEmails(bob.id, [{ kind: 'text', fields: ['subject'], value: 'report' }])).matches.map((m) => [...m]), [[other]]);
    }));

  test(`${name}: documents of removed emails are pruned`, () =>
    withStore(async (store) => {
      const { alice, deliver, doc } = await setup(store);
      const a = await deliver(alice.id, 'one');
      const b = await deliver(alice.id, 'two');
      await store.writeSearchDocuments([doc(a.emailId, alice.id, { subject: 'one' }), doc(b.emailId, alice.id, { subject: 'two' })]);
      assert.deepEqual(await store.destroyEmails(alice.id, [a.emailId]), [a.emailId]);
      assert.equal(await store.pruneSearchDocuments(), 1);
      assert.equal(await store.pruneSearchDocuments(), 0);
      assert.deepEqual([...(await store.emailSummaries(alice.id, [a.emailId, b.emailId])).keys()], [b.emailId]);
    }));
}
