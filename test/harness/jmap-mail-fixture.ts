/**
 * The JMAP Mail engine over a real store in a temp data_dir, for tests below HTTP: one account (alice@example.test,
 * JMAP id a<n>), its INBOX, the store-backed mail backend, an engine for it, and messages delivered straight in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreJmapMailBackend } from '../../src/app/jmap-mail-backend.ts';
import { silentLogger } from '../../src/core/log.ts';
import { StoreMailAccess } from '../../src/mail/service.ts';
import type { JmapAccount, JmapBackend, JmapIdentity } from '../../src/protocols/jmap/backend.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from '../../src/protocols/jmap/capabilities.ts';
import { JmapEngine } from '../../src/protocols/jmap/engine.ts';
import type { JmapMailBackend } from '../../src/protocols/jmap/mail/backend.ts';
import { mailAccountCapability, mailMethods } from '../../src/protocols/jmap/mail/index.ts';
import type { MethodTable } from '../../src/protocols/jmap/method.ts';
import { CORE_METHODS } from '../../src/protocols/jmap/methods/index.ts';
import { openStore, type OpenedStore } from '../../src/store/open.ts';

export const USING = [CORE_CAPABILITY, MAIL_CAPABILITY];
export const ADDRESS = 'alice@example.test';

/** The session side of the backend: one personal account with the Mail capability. */
class OneAccount implements JmapBackend {
  constructor(private readonly id: number) {}
  private account(): JmapAccount {
    return { name: ADDRESS, isPersonal: true, isReadOnly: false, accountCapabilities: { [CORE_CAPABILITY]: {}, [MAIL_CAPABILITY]: mailAccountCapability() } };
  }
  async accountsFor() { return { [`a${this.id}`]: this.account() }; }
  async accountFor(_i: JmapIdentity, accountId: string) { return accountId === `a${this.id}` ? this.account() : null; }
  async primaryAccountsFor() { return { [MAIL_CAPABILITY]: `a${this.id}` }; }
  async sessionState() { return 's1'; }
}

export interface JmapMailFixture {
  store: OpenedStore;
  /** The store's account id, and the JMAP one (a<n>). */
  acct: number;
  accountId: string;
  inbox: number;
  mail: StoreJmapMailBackend;
  /** An engine with the core and Mail methods over `backend` (default `mail`). */
  engine(backend?: JmapMailBackend): JmapEngine<JmapMailBackend>;
  /** One JMAP request as alice; its methodResponses (status 200 asserted). */
  request(engine: JmapEngine<JmapMailBackend>, methodCalls: unknown[]): Promise<[string, Record<string, any>, string][]>;
  /** Stores a message (LF or CRLF text) in a mailbox of the account; the stored copy. */
  deliver(text: string, options?: { mailboxId?: number; internalDate?: Date }): Promise<{ mailboxId: number; uid: number; emailId: number; threadId: number }>;
  close(): Promise<void>;
}

export async function openJmapMailFixture(options: { uploadedBlob?: (accountId: number, blobId: string) => Promise<Buffer | null> } = {}): Promise<JmapMailFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-jmap-mail-'));
  const store = await openStore({ dataDir: dir });
  await store.addDomain('example.test');
  const acct = (await store.addAccount({ address: ADDRESS, passwordHash: 'x', scram: null })).id;
  const inbox = (await store.getMailbox(acct, 'INBOX'))!.id;
  const mail = new StoreJmapMailBackend({
    mail: new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 }),
    base: new OneAccount(acct),
    storeAccountId: (id) => (/^a(\d+)$/.test(id) ? Number(id.slice(1)) : null),
    ...(options.uploadedBlob ? { uploadedBlob: options.uploadedBlob } : {}),
  });
  const methods = { ...(CORE_METHODS as MethodTable<JmapMailBackend>), ...mailMethods() };
  return {
    store, acct, accountId: `a${acct}`, inbox, mail,
    engine: (backend = mail) => new JmapEngine<JmapMailBackend>({ backend, methods, capabilities: { [MAIL_CAPABILITY]: {} }, logger: silentLogger() }),
    async request(engine, methodCalls) {
      const result = await engine.handle({ username: ADDRESS }, { body: JSON.stringify({ using: USING, methodCalls }), contentType: 'application/json' });
      const body = JSON.parse(JSON.stringify(result.body)) as Record<string, any>;
      assert.equal(result.status, 200, JSON.stringify(body));
      return body.methodResponses;
    },
    async deliver(text, where = {}) {
      const tx = store.beginDelivery();
      tx.write(Buffer.from(text.replace(/\r?\n/g, '\r\n')));
      const mailboxId = where.mailboxId ?? inbox;
      return (await tx.commit({ mailboxes: [{ mailboxId, ...(where.internalDate ? { internalDate: where.internalDate } : {}) }] })).messages[0]!;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
