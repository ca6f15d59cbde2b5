/**
 * The server's IMAP backend (account-scoped mail access on a real store) passes the same ImapBackend
 * contract as the in-memory backend of the engine's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runImapBackendContract } from '../protocols/imap/testing/backend-contract.ts';
import { openStore } from '../store/open.ts';
import { MailImapBackend } from './imap-backend.ts';
import { StoreMailAccess } from './service.ts';

runImapBackendContract('store backend', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'postamt-imap-contract-'));
  const store = await openStore({ dataDir });
  await store.addDomain('example.org');
  const account = await store.addAccount({ address: 'alice@example.org', passwordHash: 'x', scram: null, quotaBytes: 0 });
  const mail = new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 });
  mail.start();
  return {
    backend: new MailImapBackend({ mail, changes: store }),
    identity: { accountId: account.id, address: account.address },
    deliver: async (name, bytes, options = {}) => {
      const mailbox = (await store.getMailbox(account.id, name))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from(bytes));
      return (await tx.commit({ mailboxes: [{ mailboxId: mailbox.id, flags: options.flags ?? [] }] })).messages[0]!.uid;
    },
    // 0 is unlimited (user add --quota 0).
    setQuota: async (limitBytes) => {
      await store.updateAccount(account.address, { quotaBytes: limitBytes ?? 0 });
    },
    cleanup: async () => {
      mail.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
