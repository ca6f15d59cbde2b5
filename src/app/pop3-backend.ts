/**
 * The POP3 maildrop on the mail store: the account's INBOX, snapshotted at login, with an in-process
 * exclusive lock per account (RFC 1939 §8) so that two POP3 sessions never share a maildrop.
 */
import type { Maildrop, MaildropMessage, OpenMaildropResult, Pop3Backend } from '../protocols/pop3/backend.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { MailStore } from '../store/types.ts';
import type { Logger } from '../core/log.ts';
import { errorMessage } from '../core/errors.ts';

export type Pop3MailStore = Pick<MailStore, 'getMailbox' | 'listMessages' | 'streamMessage' | 'readMessage' | 'expunge'>;

export interface MailStorePop3BackendOptions {
  store: Pop3MailStore;
  log?: Logger;
}

export class MailStorePop3Backend implements Pop3Backend {
  private readonly store: Pop3MailStore;
  private readonly log: Logger | undefined;
  /** accountId → the token of the session holding the lock. */
  private readonly locks = new Map<number, symbol>();

  constructor(options: MailStorePop3BackendOptions) {
    this.store = options.store;
    this.log = options.log;
  }

  isLocked(accountId: number): boolean {
    return this.locks.has(accountId);
  }

  async openMaildrop(identity: AuthIdentity): Promise<OpenMaildropResult> {
    const { accountId } = identity;
    // RFC 2449 §8.1.2: the lock is taken before any await, so two logins racing cannot both win.
    if (this.locks.has(accountId)) return { ok: false, reason: 'in-use' };
    const token = Symbol(identity.address);
    this.locks.set(accountId, token);
    const release = (): void => {
      if (this.locks.get(accountId) === token) this.locks.delete(accountId);
    };
    try {
      const mailbox = await this.store.getMailbox(accountId, 'INBOX');
      if (!mailbox) {
        release();
        this.log?.error({ event: 'pop3.no_inbox', account: identity.address }, 'account has no INBOX');
        return { ok: false, reason: 'temporary' };
      }
      const records = await this.store.listMessages(mailbox.id);
      const messages: MaildropMessage[] = records.map((record) => ({ uid: record.uid, size: record.size }));
      const store = this.store;
      const maildrop: Maildrop = {
        messages,
        uidValidity: mailbox.uidValidity,
        stream: (uid) => store.streamMessage(mailbox.id, uid),
        read: (uid) => store.readMessage(mailbox.id, uid),
        // The store's change notification tells IMAP sessions about the expunge.
        expunge: async (uids) => {
          if (uids.length > 0) await store.expunge(mailbox.id, uids);
        },
        release,
      };
      return { ok: true, maildrop };
    } catch (error) {
      release();
      this.log?.error({ event: 'pop3.maildrop_failed', account: identity.address, error: errorMessage(error) }, 'opening maildrop failed');
      return { ok: false, reason: 'temporary' };
    }
  }
}
