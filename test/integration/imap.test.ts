// The whole server through IMAP with imapflow: login, append, fetch, flags, move, IDLE, STARTTLS-less
// plaintext refusal. Uses the shared harness (test/harness/server.ts); skipped until it exists.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { ImapFlow } from 'imapflow';

interface TestServer {
  ports: { imap: number; imaps: number };
  addUser(address: string, password: string): Promise<unknown>;
  stop(): Promise<void>;
}

const HARNESS = new URL('../harness/server.ts', import.meta.url);
const hasHarness = existsSync(HARNESS);

describe('IMAP server (imapflow)', { skip: hasHarness ? false : 'test/harness/server.ts not written yet' }, () => {
  let server: TestServer;
  const USER = 'imap-user@example.org';
  const PASS = 'correct horse battery';

  before(async () => {
    const mod = (await import(HARNESS.href)) as { startTestServer: (o?: object) => Promise<TestServer> };
    server = await mod.startTestServer();
    await server.addUser(USER, PASS);
  });
  after(async () => {
    await server?.stop();
  });

  function client(options: { port?: number; secure?: boolean } = {}): ImapFlow {
    return new ImapFlow({
      host: '127.0.0.1',
      port: options.port ?? server.ports.imaps,
      secure: options.secure ?? true,
      tls: { rejectUnauthorized: false },
      auth: { user: USER, pass: PASS },
      logger: false,
    });
  }

  it('appends, fetches byte-exact, flags, searches and moves over implicit TLS with COMPRESS', async () => {
    const c = client();
    await c.connect();
    const raw = 'From: a@example.net\r\nTo: imap-user@example.org\r\nSubject: Round trip\r\n\r\nBody line\r\n';
    const appended = await c.append('INBOX', raw, ['\\Seen']);
    assert.ok(appended && appended.uid !== undefined);
    const lock = await c.getMailboxLock('INBOX');
    try {
      const msg = await c.fetchOne(String(appended.uid), { source: true, envelope: true, flags: true }, { uid: true });
      assert.ok(msg);
      assert.equal(msg.source?.toString(), raw);
      assert.equal(msg.envelope?.subject, 'Round trip');
      assert.ok(msg.flags?.has('\\Seen'));
      await c.messageFlagsAdd(String(appended.uid), ['\\Flagged'], { uid: true });
      assert.deepEqual(await c.search({ flagged: true, subject: 'round' }, { uid: true }), [appended.uid]);
      const moved = await c.messageMove(String(appended.uid), 'Archive', { uid: true });
      assert.ok(moved);
    } finally {
      lock.release();
    }
    const status = await c.status('Archive', { messages: true });
    assert.ok((status.messages ?? 0) >= 1);
    await c.logout();
  });

  it('notifies an idling client of a new message', async () => {
    const watcher = client();
    await watcher.connect();
    await watcher.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => watcher.on('exists', (d: { count: number }) => resolve(d.count)));
    const writer = client();
    await writer.connect();
    await writer.append('INBOX', 'Subject: ping\r\n\r\nx\r\n');
    assert.ok((await exists) >= 1);
    await writer.logout();
    await watcher.logout();
  });

  it('refuses a wrong password', async () => {
    const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: 'wrong' }, logger: false });
    await assert.rejects(c.connect());
  });
});
