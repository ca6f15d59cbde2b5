/**
 * The in-memory IMAP backend the engine's transcript tests use is held to the ImapBackend contract.
 */
import { runImapBackendContract } from './backend-contract.ts';
import { MemoryBackend } from './memory-backend.ts';

runImapBackendContract('memory backend', async () => {
  const backend = new MemoryBackend();
  const account = backend.addUser('alice@example.org', 'secret');
  return {
    backend,
    identity: { accountId: backend.accounts.get('alice@example.org')!.id, address: 'alice@example.org' },
    deliver: async (mailbox, bytes, options = {}) => account.deliver(mailbox, bytes, options),
    setQuota: async (limitBytes) => {
      account.quotaLimit = limitBytes;
    },
    cleanup: async () => undefined,
  };
});
