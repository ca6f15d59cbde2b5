// SetErrors of Mailbox/set, Email/set, Email/import and Email/parse as RFC 8620 §5.3 and RFC 8621 §2,
// §4.6, §4.8, §4.9 name them, with a real JMAP client (jmap-jam) over a real socket: a property the type does
// not have, a sibling of the same name, a role another mailbox has, two properties for one header field, a body part's
// Content-Transfer-Encoding or missing blobs, a blob id that is not there, a blob that is not a message; and
// the Raw header form without NUL octets (§4.1.2.1).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JamClient } from 'jmap-jam';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { first, jamClient } from '../harness/jmap-jam.ts';

const ALICE = 'alice@example.test';

describe('JMAP SetErrors (RFC 8620 §5.3, RFC 8621 §2, §4.6, §4.8, §4.9) and Raw header values with jmap-jam', () => {
  let t: TestServer;
  let jam: JamClient;
  let accountId: string;
  let inbox: string;
  const names = async (): Promise<string[]> => (await first(jam.api.Mailbox.get({ accountId, ids: null, properties: ['name'] } as never))).list.map((m: { name: string }) => m.name);
  const upload = async (text: string): Promise<string> => (await jam.uploadBlob(accountId, new Blob([text], { type: 'message/rfc822' }))).blobId;

  before(async () => {
    t = await startTestServer({ startQueue: false, config: { auth: { allowPlaintextOnLoopback: true } } as never });
    await t.addUser(ALICE, 'set errors pass');
    jam = await jamClient(t, { address: ALICE });
    accountId = await jam.getPrimaryAccount();
    inbox = (await first(jam.api.Mailbox.query({ accountId, filter: { role: 'inbox' } } as never))).ids[0];
  });
  after(async () => {
    await t?.stop();
  });

  it('Mailbox/set create with a property a Mailbox does not have is invalidProperties naming it, and creates nothing', async () => {
    const set = await first(jam.api.Mailbox.set({ accountId, create: { c: { name: 'Colorful', color: 'red', parentId: null } } } as never));
    assert.equal(set.created, null, JSON.stringify(set));
    assert.equal(set.notCreated!.c!.type, 'invalidProperties');
    assert.deepEqual(set.notCreated!.c!.properties, ['color']);
    assert.ok(!(await names()).includes('Colorful'));
  });

  it('Mailbox/set: a sibling of the same name (create or rename) is alreadyExists with the existing id', async () => {
    const made = await first(jam.api.Mailbox.set({ accountId, create: { a: { name: 'Projects', parentId: null }, b: { name: 'Other', parentId: null } } } as never));
    const projects = (made.created as Record<string, { id: string }>).a.id;
    const other = (made.created as Record<string, { id: string }>).b.id;
    const again = await first(jam.api.Mailbox.set({ accountId, create: { dup: { name: 'Projects', parentId: null } }, update: { [other]: { name: 'Projects' } } } as never));
    assert.equal(again.notCreated!.dup!.type, 'alreadyExists', JSON.stringify(again));
    assert.equal((again.notCreated!.dup as { existingId?: string }).existingId, projects);
    assert.equal(again.notUpdated![other]!.type, 'alreadyExists');
    assert.equal((again.notUpdated![other] as { existingId?: string }).existingId, projects);
    assert.equal((await names()).filter((n) => n === 'Projects').length, 1);
    // The same name under another parent is fine (siblings only).
    const child = await first(jam.api.Mailbox.set({ accountId, create: { c: { name: 'Projects', parentId: other } } } as never));
    assert.ok(child.created?.c, JSON.stringify(child));
  });

  it('Mailbox/set: a second mailbox with a role already taken (trash) is invalidProperties on role, and nothing is created (RFC 8621 §2)', async () => {
    const before = await first(jam.api.Mailbox.get({ accountId, ids: null, properties: ['name', 'role'] } as never));
    const roles = before.list.map((m: any) => m.role).filter((r: string | null) => r !== null);
    assert.ok(roles.includes('trash'), `the account starts with a trash mailbox: ${roles.join(', ')}`);
    const set = await first(jam.api.Mailbox.set({ accountId, create: { again: { name: 'Second trash', role: 'trash' } } } as never));
    assert.equal(set.created, null, JSON.stringify(set));
    assert.equal(set.notCreated.again.type, 'invalidProperties');
    assert.deepEqual(set.notCreated.again.properties, ['role']);
    const after = await first(jam.api.Mailbox.get({ accountId, ids: null, properties: ['name', 'role'] } as never));
    assert.equal(after.list.filter((m: any) => m.role === 'trash').length, 1);
    assert.ok(!after.list.some((m: any) => m.name === 'Second trash'));
  });

  it('Email/set create: two properties for one header field, or a body part\'s headers list or Content-Transfer-Encoding, are invalidProperties', async () => {
    const body = { textBody: [{ partId: 'b', type: 'text/plain' }], bodyValues: { b: { value: 'Hi' } } };
    const set = await first(jam.api.Email.set({ accountId, create: {
      twice: { mailboxIds: { [inbox]: true }, subject: 'One', 'header:Subject:asText': 'Two', ...body },
      fromTwice: { mailboxIds: { [inbox]: true }, from: [{ email: 'a@example.test' }], 'header:FROM:asAddresses': [{ email: 'b@example.test' }], ...body },
      list: { mailboxIds: { [inbox]: true }, textBody: [{ partId: 'b', type: 'text/plain', headers: [{ name: 'Content-Transfer-Encoding', value: 'base64' }] }], bodyValues: { b: { value: 'Hi' } } },
      cte: { mailboxIds: { [inbox]: true }, textBody: [{ partId: 'b', type: 'text/plain', 'header:Content-Transfer-Encoding': 'base64' }], bodyValues: { b: { value: 'Hi' } } },
      typeTwice: { mailboxIds: { [inbox]: true }, attachments: [{ blobId: await upload('x'), type: 'text/plain', 'header:Content-Type': 'text/html' }], ...body },
      fine: { mailboxIds: { [inbox]: true }, subject: 'Fine', textBody: [{ partId: 'b', type: 'text/plain', 'header:X-Part': 'yes' }], bodyValues: { b: { value: 'Hi' } } },
    } } as never));
    assert.deepEqual(set.notCreated.twice, { type: 'invalidProperties', properties: ['header:Subject:asText'], description: 'a second property for the Subject header field' });
    assert.deepEqual(set.notCreated.fromTwice.properties, ['header:FROM:asAddresses']);
    assert.deepEqual([set.notCreated.list.type, set.notCreated.list.properties], ['invalidProperties', ['textBody']]);
    assert.deepEqual([set.notCreated.cte.type, set.notCreated.cte.properties], ['invalidProperties', ['textBody']]);
    assert.deepEqual([set.notCreated.typeTwice.type, set.notCreated.typeTwice.properties], ['invalidProperties', ['attachments']]);
    assert.ok(set.created.fine, JSON.stringify(set));
    assert.equal(Object.keys(set.created).length, 1, 'only the valid one is created');
    await first(jam.api.Email.set({ accountId, destroy: [set.created.fine.id] } as never));
  });

  it('Email/set create with body part blobs that are not there is blobNotFound listing every one (RFC 8621 §4.6)', async () => {
    const set = await first(jam.api.Email.set({ accountId, create: { m: { mailboxIds: { [inbox]: true }, textBody: [{ partId: 'b', type: 'text/plain' }], bodyValues: { b: { value: 'Hi' } },
      attachments: [{ blobId: 'Umissing-one', type: 'text/plain' }, { blobId: await upload('here'), type: 'text/plain' }, { blobId: 'Umissing-two', type: 'image/png' }] } } } as never));
    assert.equal(set.created, null, JSON.stringify(set));
    assert.equal(set.notCreated.m.type, 'blobNotFound');
    assert.deepEqual([...set.notCreated.m.notFound].sort(), ['Umissing-one', 'Umissing-two']);
  });

  it('Email/get header:Name (Raw form) drops NUL octets', async () => {
    const blobId = await upload('From: nul@example.test\r\nX-Nul: a\0b\0c\r\nSubject: with\0NUL\r\n\r\nbody\r\n');
    const imported = await first(jam.api.Email.import({ accountId, emails: { n: { blobId, mailboxIds: { [inbox]: true } } } } as never));
    const got = await first(jam.api.Email.get({ accountId, ids: [imported.created.n.id], properties: ['header:X-Nul', 'header:Subject:asText', 'subject'] } as never));
    assert.deepEqual(got.list[0], { id: imported.created.n.id, 'header:X-Nul': ' abc', 'header:Subject:asText': 'withNUL', subject: 'withNUL' });
    await first(jam.api.Email.set({ accountId, destroy: [imported.created.n.id] } as never));
  });

  it('Email/import of a blob id that is not there is invalidProperties on blobId', async () => {
    const imported = await first(jam.api.Email.import({ accountId, emails: { x: { blobId: 'Unot-here', mailboxIds: { [inbox]: true } } } } as never));
    assert.equal(imported.created, null);
    assert.equal(imported.notCreated!.x!.type, 'invalidProperties', JSON.stringify(imported));
    assert.deepEqual(imported.notCreated!.x!.properties, ['blobId']);
  });

  it('Email/import of a blob that is not a message is invalidEmail and stores nothing; Email/parse lists it in notParsable', async () => {
    const junk = await upload('this is not an email at all, just text');
    const good = await upload('From: carol@example.test\r\nSubject: Fine\r\n\r\nA real message.\r\n');
    const imported = await first(jam.api.Email.import({ accountId, emails: { junk: { blobId: junk, mailboxIds: { [inbox]: true } }, good: { blobId: good, mailboxIds: { [inbox]: true } } } } as never));
    assert.equal(imported.notCreated!.junk!.type, 'invalidEmail', JSON.stringify(imported));
    assert.ok(imported.created?.good, 'a real message next to it is imported');
    const query = await first(jam.api.Email.query({ accountId, filter: { inMailbox: inbox } } as never));
    assert.equal(query.ids.length, 1, 'only the real message is in the inbox');
    const parsed = await first(jam.api.Email.parse({ accountId, blobIds: [junk, good], properties: ['subject'] } as never));
    assert.deepEqual(parsed.notParsable, [junk]);
    assert.equal((parsed.parsed as Record<string, { subject: string }>)[good]!.subject, 'Fine');
  });
});
