/**
 * The JMAP object model (EmailStore) on PostgreSQL. Not there yet: every method fails with a storage
 * error, so a PostgreSQL deployment answers JMAP Mail with a temporary failure instead of wrong data.
 */
import { StorageError } from '../../core/errors.ts';
import type { EmailStore } from '../types.ts';

function missing(): never {
  throw new StorageError('the JMAP email model is not implemented on PostgreSQL yet');
}

export function pgEmailStore(): EmailStore {
  return {
    accountModSeq: async () => missing(),
    objectChanges: async () => missing(),
    changesKnownSince: async () => missing(),
    getEmails: async () => missing(),
    threadEmails: async () => missing(),
    mailboxEmailCounts: async () => missing(),
    objectIds: async () => missing(),
    listEmailIndex: async () => missing(),
    mailboxEmailPage: async () => missing(),
    updateEmails: async () => missing(),
    destroyEmails: async () => missing(),
    emailLocation: async () => missing(),
  };
}
