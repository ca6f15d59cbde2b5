/**
 * The POP3 maildrop on account-scoped mail access over a real store in a temp dir.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMailboxChange, type MailboxChange } from '../store/types.ts';
import type { EngineOutput } from '../protocols/engine.ts';
import type { SaslAuthenticator, SaslStep } from '../protocols/sasl/types.ts';
import { Pop3Session } from '../protocols/pop3/session.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import { MailPop3Backend } from './pop3-backend.ts';
import { StoreMailAccess } from './service.ts';

async function freshStore(t: TestContext): Promise<{ store: OpenedStore; mail: StoreMailAccess }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'postamt-pop3-'));
  const store = await openStore({ dataDir });
  t.after(async () => {
    await store.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });
  await store.addDomain('example.org');
  return { store, mail: new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 }) };
}

async function deliver(store: OpenedStore, mailboxId: number, body: string): Promise<void> {
  const delivery = store.beginDelivery();
  delivery.write(Buffer.from(body));
  await delivery.commit({ mailboxes: [{ mailboxId }] });
}

/** alice's INBOX with UIDs 3 and 4 (1 and 2 expunged). */
async function alice(store: OpenedStore) {
  const account = await store.addAccount({ address: 'alice@example.org', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
  for (const body of ['Subject: one\r\n\r\n1\r\n', 'Subject: two\r\n\r\n2\r\n', 'Subject: three\r\n\r\n3\r\n', 'Subject: four\r\n\r\n4\r\n']) await deliver(store, inbox.id, body);
  await store.expunge(inbox.id, [1, 2]);
  return { identity: { accountId: account.id, address: account.address }, inbox };
}

test('opens INBOX as the maildrop with sizes, UIDVALIDITY and streamed bodies', async (t) => {
  const { store, mail } = await freshStore(t);
  const { identity, inbox } = await alice(store);
  const backend = new MailPop3Backend({ mail });
  const opened = await backend.openMaildrop(identity);
  assert.ok(opened.ok);
  const { maildrop } = opened;
  assert.equal(maildrop.uidValidity, inbox.uidValidity);
  assert.deepEqual(maildrop.messages, [
    { uid: 3, size: 21 },
    { uid: 4, size: 20 },
  ]);
  const chunks: Buffer[] = [];
  for await (const chunk of maildrop.stream(4)) chunks.push(chunk);
  assert.equal(Buffer.concat(chunks).toString(), 'Subject: four\r\n\r\n4\r\n');
  assert.equal((await maildrop.read(3)).toString(), 'Subject: three\r\n\r\n3\r\n');
  await maildrop.expunge([3]);
  await maildrop.expunge([]);
  assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.uid), [4]);
  maildrop.release();
});

test('a second open of the same account is in-use until release; release is idempotent and per session', async (t) => {
  const { store, mail } = await freshStore(t);
  const { identity } = await alice(store);
  const backend = new MailPop3Backend({ mail });
  const [first, second] = await Promise.all([backend.openMaildrop(identity), backend.openMaildrop(identity)]);
  assert.ok(first.ok);
  assert.deepEqual(second, { ok: false, reason: 'in-use' });
  first.maildrop.release();
  const third = await backend.openMaildrop(identity);
  assert.ok(third.ok);
  first.maildrop.release(); // a stale release must not free the lock the third session holds
  assert.deepEqual(await backend.openMaildrop(identity), { ok: false, reason: 'in-use' });
  third.maildrop.release();
  assert.equal(backend.isLocked(identity.accountId), false);
});

test('a missing INBOX or a failing store is a temporary failure and leaves no lock behind', async (t) => {
  const { store, mail } = await freshStore(t);
  const backend = new MailPop3Backend({ mail });
  // An account id with no mailboxes (removed meanwhile): no INBOX.
  assert.deepEqual(await backend.openMaildrop({ accountId: 999, address: 'b@example.org' }), { ok: false, reason: 'temporary' });
  assert.equal(backend.isLocked(999), false);
  const { identity } = await alice(store);
  await store.close();
  assert.deepEqual(await backend.openMaildrop(identity), { ok: false, reason: 'temporary' });
  assert.equal(backend.isLocked(identity.accountId), false);
});

async function render(output: EngineOutput): Promise<string> {
  let text = '';
  for (const part of output.data) {
    if (typeof part === 'string') text += part;
    else if (Buffer.isBuffer(part)) text += part.toString('latin1');
    else for await (const piece of part) text += piece.toString('latin1');
  }
  return text;
}

test('through the engine on the store: RETR stuffed, DELE+QUIT expunges and IMAP sessions are told', async (t) => {
  const { store, mail } = await freshStore(t);
  const account = await store.addAccount({ address: 'alice@example.org', passwordHash: 'unused', scram: null });
  const inbox = await store.getMailbox(account.id, 'INBOX');
  assert.ok(inbox);
  for (const body of ['Subject: one\r\n\r\n.dot line\r\n', 'Subject: two\r\n\r\nbody\r\n']) {
    const delivery = store.beginDelivery();
    delivery.write(Buffer.from(body));
    await delivery.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  }
  const changes: MailboxChange[] = [];
  store.subscribe((change) => {
    if (isMailboxChange(change)) changes.push(change);
  });

  const identity = { accountId: account.id, address: account.address };
  const sasl: SaslAuthenticator = {
    mechanisms: () => [],
    start: () => null,
    checkPassword: async (user, password): Promise<SaslStep> =>
      user === 'alice@example.org' && password === 'pw' ? { kind: 'success', identity } : { kind: 'failure', reason: 'invalid-credentials' },
  };
  const session = new Pop3Session({
    context: { sessionId: 't', remoteAddress: '127.0.0.1', tls: null, push: () => undefined },
    hostname: 'pop.example.org',
    backend: new MailPop3Backend({ mail }),
    sasl,
    starttlsAvailable: false,
    allowPlaintextAuth: true,
  });
  const send = async (text: string): Promise<string> => render(await session.receive(Buffer.from(text)));
  await session.start();
  assert.equal(await send('USER alice@example.org\r\nPASS pw\r\n'), '+OK Send your password\r\n+OK Logged in, maildrop has 2 messages (49 octets)\r\n');
  assert.equal(await send('UIDL\r\n'), `+OK Unique-ID listing follows\r\n1 ${inbox.uidValidity}.1\r\n2 ${inbox.uidValidity}.2\r\n.\r\n`);
  assert.equal(await send('RETR 1\r\n'), '+OK 27 octets\r\nSubject: one\r\n\r\n..dot line\r\n.\r\n');
  assert.equal(await send('DELE 1\r\nQUIT\r\n'), '+OK Message 1 deleted\r\n+OK pop.example.org POP3 server signing off (1 message left)\r\n');
  session.closed();
  assert.deepEqual((await store.listMessages(inbox.id)).map((message) => message.uid), [2]);
  assert.deepEqual(changes.filter((change) => change.kind === 'expunge').map((change) => change.uids), [[1]]);
});
