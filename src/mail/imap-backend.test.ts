import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../store/open.ts';
import type { EngineContext } from '../protocols/engine.ts';
import { outputText as text } from '../protocols/imap/testing/memory-backend.ts';
import type { SaslAuthenticator } from '../protocols/sasl/types.ts';
import { ImapSession } from '../protocols/imap/session.ts';
import { MailImapBackend } from './imap-backend.ts';
import { StoreMailAccess } from './service.ts';
import { SectionCache } from './section-cache.ts';

let dataDir: string;
let store: OpenedStore;
let accountId: number;

function client(options: { quota?: number; headerSections?: SectionCache } = {}) {
  const pushed: string[] = [];
  const context: EngineContext = { sessionId: 's', remoteAddress: '127.0.0.1', tls: null, push: (o) => void text(o).then((t) => pushed.push(t)) };
  const sasl: SaslAuthenticator = {
    mechanisms: () => [],
    start: () => null,
    checkPassword: async (u, p) => (u === 'u@example.org' && p === 'pw' ? { kind: 'success', identity: { accountId, address: u } } : { kind: 'failure', reason: 'invalid-credentials' }),
  };
  const mail = new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: options.quota ?? 10_000_000 });
  const backend = new MailImapBackend({ mail, changes: store, ...(options.headerSections ? { headerSections: options.headerSections } : {}) });
  const session = new ImapSession({ backend, sasl, context, allowPlaintextAuth: true });
  return { pushed, send: async (s: string) => text(await session.receive(Buffer.from(s))) };
}

describe('IMAP backend on the SQLite store', () => {
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'postamt-imap-'));
    store = await openStore({ dataDir });
    await store.addDomain('example.org');
    accountId = (await store.addAccount({ address: 'u@example.org', passwordHash: 'x', scram: null })).id;
  });
  after(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a message list\'s header fields from the shared cache byte for byte, 8-bit headers included', async () => {
    const cache = new SectionCache();
    const plain = client();
    const cached = client({ headerSections: cache });
    const other = client({ headerSections: cache });
    for (const c of [plain, cached, other]) await c.send('a LOGIN u@example.org pw\r\n');
    await plain.send('x CREATE Listing\r\n');
    const messages = [
      'From: A <a@example.net>\r\nSubject: Grüße\r\nX-Other: 1\r\nTo: u@example.org,\r\n  v@example.org\r\n\r\nbody one\r\n',
      'Subject: no from\r\n\r\nbody two\r\n',
    ];
    for (const m of messages) {
      const bytes = Buffer.from(m);
      await plain.send(`b APPEND Listing {${bytes.length}+}\r\n${m}\r\n`);
    }
    const command = 'f UID FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From TO subject)])\r\n';
    for (const c of [plain, cached, other]) await c.send('s EXAMINE Listing\r\n');
    const expected = await plain.send(command);
    assert.match(expected, /BODY\[HEADER\.FIELDS \(From TO subject\)\] \{\d+\}\r\nFrom: A <a@example\.net>\r\nSubject: Grüße\r\nTo: u@example\.org,\r\n  v@example\.org\r\n\r\n\)/);
    assert.equal(await cached.send(command), expected, 'read from the messages, then cached');
    assert.equal(cache.sections, 2);
    assert.equal(await other.send(command), expected, 'another session, from the cache');
    // The literal counts bytes: the cached text is one char per byte.
    const literal = /\{(\d+)\}\r\n(From[^)]*)\)/.exec(expected)!;
    assert.equal(Buffer.byteLength(literal[2]!), Number(literal[1]));
  });

  it('appends, selects, fetches, stores, searches, copies and expunges', async () => {
    const c = client();
    assert.match(await c.send('a LOGIN u@example.org pw\r\n'), /^a OK/);
    const msg = 'Subject: hi\r\nFrom: x@example.net\r\n\r\nhello world\r\n';
    assert.match(await c.send(`b APPEND INBOX (\\Flagged) {${msg.length}+}\r\n${msg}\r\n`), /^b OK \[APPENDUID \d+ 1\]/);
    const sel = await c.send('c SELECT INBOX\r\n');
    assert.match(sel, /\* 1 EXISTS/);
    assert.match(sel, /OK \[UIDNEXT 2\]/);
    assert.equal(await c.send('d FETCH 1 (FLAGS BODY.PEEK[TEXT])\r\n'), '* 1 FETCH (FLAGS (\\Recent \\Flagged) BODY[TEXT] {13}\r\nhello world\r\n)\r\nd OK FETCH completed\r\n');
    assert.match(await c.send('e STORE 1 +FLAGS (\\Seen)\r\n'), /\* 1 FETCH \(FLAGS \(\\Recent (\\Flagged \\Seen|\\Seen \\Flagged)\)\)/);
    assert.equal(await c.send('f UID SEARCH TEXT world\r\n'), '* SEARCH 1\r\nf OK UID SEARCH completed\r\n');
    assert.match(await c.send('g UID COPY 1 Trash\r\n'), /g OK \[COPYUID \d+ 1 1\]/);
    assert.match(await c.send('h STATUS Trash (MESSAGES)\r\n'), /\* STATUS "Trash" \(MESSAGES 1\)/);
    await c.send('i STORE 1 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('j EXPUNGE\r\n'), '* 1 EXPUNGE\r\nj OK EXPUNGE completed\r\n');
  });

  it("shows a session nothing of another account's mailbox created after its selected one was deleted", async () => {
    const a = client();
    const a2 = client();
    await a.send('a LOGIN u@example.org pw\r\n');
    await a2.send('a LOGIN u@example.org pw\r\n');
    await a.send('b CREATE Doomed\r\n');
    const msg = 'Subject: mine\r\n\r\nmine\r\n';
    await a.send(`c APPEND Doomed (\\Flagged) {${msg.length}+}\r\n${msg}\r\n`);
    await a.send('d SELECT Doomed\r\n');
    assert.match(await a.send('e FETCH 1 (FLAGS)\r\n'), /\* 1 FETCH \(FLAGS \(\\Recent \\Flagged\)\)/);
    assert.match(await a2.send('f DELETE Doomed\r\n'), /^f OK/m);
    // Another account's new mailboxes, with a message whose flag must not reach the session above.
    const other = await store.addAccount({ address: 'secret@example.org', passwordHash: 'x', scram: null });
    const secret = (await store.getMailbox(other.id, 'INBOX'))!;
    const tx = store.beginDelivery();
    tx.write(Buffer.from('Subject: secret\r\n\r\nsecret\r\n'));
    await tx.commit({ mailboxes: [{ mailboxId: secret.id, flags: ['$OtherAccountsFlag'] }] });
    const fetched = await a.send('g FETCH 1:* (FLAGS RFC822.SIZE)\r\n');
    const searched = await a.send('h SEARCH KEYWORD $OtherAccountsFlag\r\n');
    assert.doesNotMatch(fetched + searched, /OtherAccountsFlag|SEARCH 1/);
  });

  it('tells another selected session about a new message at NOOP', async () => {
    const a = client();
    const b = client();
    await a.send('a LOGIN u@example.org pw\r\n');
    await b.send('a LOGIN u@example.org pw\r\n');
    await a.send('s SELECT INBOX\r\n');
    await b.send('b APPEND INBOX {9+}\r\nX: y\r\n\r\nz\r\n');
    assert.match(await a.send('n NOOP\r\n'), /^\* \d+ EXISTS\r\n\* 1 RECENT\r\nn OK/);
  });

  it('creates, renames and deletes mailboxes; refuses APPEND over quota', async () => {
    const c = client({ quota: 10 });
    await c.send('a LOGIN u@example.org pw\r\n');
    assert.match(await c.send('b CREATE Projects/2024\r\n'), /^b OK \[MAILBOXID \(M\d+\)\] CREATE completed\r\n$/);
    assert.match(await c.send('c LIST "" Projects*\r\n'), /\* LIST \(\\HasChildren\) "\/" "Projects"\r\n\* LIST \(\\HasNoChildren\) "\/" "Projects\/2024"/);
    assert.equal(await c.send('d RENAME Projects Archive2\r\n'), 'd OK RENAME completed\r\n');
    assert.match(await c.send('e DELETE Archive2/2024\r\n'), /^e OK/);
    assert.match(await c.send('f APPEND INBOX {20+}\r\nSubject: x\r\n\r\n123456\r\n'), /^f NO \[OVERQUOTA\]/);
  });

  it('an account with quota 0 (user add --quota 0) is unlimited: APPEND is stored and GETQUOTA shows no limit', async () => {
    await store.updateAccount('u@example.org', { quotaBytes: 0 });
    try {
      const c = client({ quota: 10 });
      await c.send('a LOGIN u@example.org pw\r\n');
      assert.match(await c.send('b APPEND INBOX {20+}\r\nSubject: x\r\n\r\n123456\r\n'), /^b OK \[APPENDUID/);
      assert.equal(await c.send('c GETQUOTA ""\r\n'), '* QUOTA "" ()\r\nc OK GETQUOTA completed\r\n');
    } finally {
      await store.updateAccount('u@example.org', { quotaBytes: null });
    }
  });
});
