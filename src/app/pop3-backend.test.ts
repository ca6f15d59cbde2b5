import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMailboxChange, type MailboxChange, type MailboxRecord, type MessageRecord } from '../store/types.ts';
import type { EngineOutput } from '../protocols/engine.ts';
import type { SaslAuthenticator, SaslStep } from '../protocols/sasl/types.ts';
import { Pop3Session } from '../protocols/pop3/session.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { MailStorePop3Backend, type Pop3MailStore } from './pop3-backend.ts';

/** INBOX of account 1 with UIDs 3 and 4; account 2 has no INBOX; account 3's store is down. */
class FakeMailStore implements Pop3MailStore {
  readonly bodies = new Map<number, Buffer>([
    [3, Buffer.from('Subject: three\r\n\r\n3\r\n')],
    [4, Buffer.from('Subject: four\r\n\r\n4\r\n')],
  ]);
  readonly expunges: { mailboxId: number; uids: number[] }[] = [];

  async getMailbox(accountId: number, name: string): Promise<MailboxRecord | null> {
    if (accountId === 3) throw new Error('database is locked');
    if (accountId !== 1 || name !== 'INBOX') return null;
    return { id: 10, accountId, name, uidValidity: 42, uidNext: 5, highestModSeq: 1, specialUse: null, subscribed: true };
  }
  async listMessages(mailboxId: number): Promise<MessageRecord[]> {
    return [...this.bodies].map(([uid, body]) => ({ mailboxId, uid, size: body.length, internalDate: new Date(0), flags: [], modSeq: 1 }));
  }
  async readMessage(_mailboxId: number, uid: number): Promise<Buffer> {
    return this.bodies.get(uid) ?? Buffer.alloc(0);
  }
  async *streamMessage(_mailboxId: number, uid: number): AsyncIterable<Buffer> {
    const body = this.bodies.get(uid);
    if (!body) throw new Error('gone');
    yield body.subarray(0, 5);
    yield body.subarray(5);
  }
  async expunge(mailboxId: number, uids: number[]): Promise<number[]> {
    this.expunges.push({ mailboxId, uids });
    for (const uid of uids) this.bodies.delete(uid);
    return uids;
  }
}

const alice = { accountId: 1, address: 'alice@example.org' };

test('opens INBOX as the maildrop with sizes, UIDVALIDITY and streamed bodies', async () => {
  const store = new FakeMailStore();
  const backend = new MailStorePop3Backend({ store });
  const opened = await backend.openMaildrop(alice);
  assert.ok(opened.ok);
  const { maildrop } = opened;
  assert.equal(maildrop.uidValidity, 42);
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
  assert.deepEqual(store.expunges, [{ mailboxId: 10, uids: [3] }]);
  maildrop.release();
});

test('a second open of the same account is in-use until release; release is idempotent and per session', async () => {
  const backend = new MailStorePop3Backend({ store: new FakeMailStore() });
  const [first, second] = await Promise.all([backend.openMaildrop(alice), backend.openMaildrop(alice)]);
  assert.ok(first.ok);
  assert.deepEqual(second, { ok: false, reason: 'in-use' });
  first.maildrop.release();
  const third = await backend.openMaildrop(alice);
  assert.ok(third.ok);
  first.maildrop.release(); // a stale release must not free the lock the third session holds
  assert.deepEqual(await backend.openMaildrop(alice), { ok: false, reason: 'in-use' });
  third.maildrop.release();
  assert.equal(backend.isLocked(1), false);
});

test('a missing INBOX or a failing store is a temporary failure and leaves no lock behind', async () => {
  const backend = new MailStorePop3Backend({ store: new FakeMailStore() });
  assert.deepEqual(await backend.openMaildrop({ accountId: 2, address: 'b@example.org' }), { ok: false, reason: 'temporary' });
  assert.deepEqual(await backend.openMaildrop({ accountId: 3, address: 'c@example.org' }), { ok: false, reason: 'temporary' });
  assert.equal(backend.isLocked(2), false);
  assert.equal(backend.isLocked(3), false);
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

test('through the engine on the SQLite store: RETR stuffed, DELE+QUIT expunges and IMAP sessions are told', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'postamt-pop3-'));
  const store = openSqliteStore({ dataDir });
  t.after(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await store.addDomain('example.org');
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
    context: { sessionId: 't', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 110, tls: null, push: () => undefined },
    hostname: 'pop.example.org',
    backend: new MailStorePop3Backend({ store }),
    sasl,
    tlsAvailable: false,
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
