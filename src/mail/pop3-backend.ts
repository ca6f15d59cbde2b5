/**
 * The POP3 maildrop on account-scoped mail access (access.ts): the account's INBOX, snapshotted at
 * login, with an in-process exclusive lock per account (RFC 1939 §8) so that two POP3 sessions never
 * share a maildrop.
 */
import type { Maildrop, MaildropMessage, OpenMaildropResult, Pop3Backend } from '../protocols/pop3/backend.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { MailAccess } from './access.ts';
import type { Logger } from '../core/log.ts';

export interface MailPop3BackendOptions {
  mail: MailAccess;
  logger?: Logger;
}

export class MailPop3Backend implements Pop3Backend {
  private readonly mail: MailAccess;
  private readonly logger: Logger | undefined;
  /** accountId → the token of the session holding the lock. */
  private readonly locks = new Map<number, symbol>();

  constructor(options: MailPop3BackendOptions) {
    this.mail = options.mail;
    this.logger = options.logger;
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
      const mail = await this.mail.open(identity);
      const mailbox = await mail.findMailbox('INBOX');
      if (!mailbox) {
        release();
        this.logger?.error({ event: 'pop3.no_inbox', account: identity.address }, 'account has no INBOX');
        return { ok: false, reason: 'temporary' };
      }
      const records = await mail.listMessages(mailbox.id);
      const messages: MaildropMessage[] = records.map((record) => ({ uid: record.uid, size: record.size }));
      const maildrop: Maildrop = {
        messages,
        uidValidity: mailbox.uidValidity,
        stream: (uid) => mail.streamMessage(mailbox.id, uid),
        read: async (uid) => {
          const bytes = await mail.readMessage(mailbox.id, uid);
          if (bytes === null) throw new Error(`message ${uid} is gone`);
          return bytes;
        },
        // The store's change notification tells IMAP sessions about the expunge.
        expunge: async (uids) => {
          if (uids.length > 0) await mail.expunge(mailbox.id, uids);
        },
        release,
      };
      return { ok: true, maildrop };
    } catch (error) {
      release();
      this.logger?.error({ event: 'pop3.maildrop_failed', account: identity.address, err: error }, 'opening maildrop failed');
      return { ok: false, reason: 'temporary' };
    }
  }
}
